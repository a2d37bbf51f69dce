import { Injectable, Logger } from '@nestjs/common';
import { RedisLeases, RedisService } from '@chat/redis';
import { DatabaseInfo } from './database-info';
import { dialectOf } from './mongo-capabilities';

/**
 * Serialises writes to the same document, but only on FerretDB: in this process, and across
 * processes through a Redis lease.
 *
 * Why: FerretDB v1 applies an update by reading the document, changing it in Go and writing the whole
 * document back, with no transaction around the two (FerretDB issue #3040), on its SQLite and its
 * PostgreSQL backend alike. Two concurrent updates of one document then lose one another: measured
 * here, 40 concurrent `$inc` left the counter at 11 and findAndModify handed out duplicate values;
 * two gateway processes reserving seqs of one conversation got the same seqs
 * (test/ferretdb-two-processes.e2e-spec.ts). Unique indexes on insert do hold. MongoDB applies
 * single-document updates atomically, so there the lock is skipped and no lease is taken.
 *
 * Callers queue in-process first (the queue is shared by every app instance in the process; tests
 * boot several), so only one of them per process contends for the Redis lease. Without Redis
 * (REDIS_URL=none, single node) the in-process queue alone is the lock.
 */
const tails = new Map<string, Promise<unknown>>();

async function runExclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = tails.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => undefined);
  tails.set(key, tail);
  try {
    return await run;
  } finally {
    if (tails.get(key) === tail) tails.delete(key);
  }
}

/**
 * Takes the in-process lock of `key` if nobody holds or waits for it; returns its release, or null.
 * Callers of runExclusive arriving meanwhile queue behind it as behind any holder.
 */
function tryTake(key: string): (() => void) | null {
  if (tails.has(key)) return null;
  let release!: () => void;
  const tail = new Promise<void>((r) => (release = r));
  tails.set(key, tail);
  return () => {
    release();
    if (tails.get(key) === tail) tails.delete(key);
  };
}

/** Keys with a write running or queued in this process (a stalled test names them). */
export function documentLocksInUse(): string[] {
  return [...tails.keys()];
}

@Injectable()
export class DocumentWriteLock {
  private static readonly logger = new Logger('DocumentWriteLock');
  private readonly leases: RedisLeases | null;

  constructor(
    private readonly db: DatabaseInfo,
    private readonly redis: RedisService,
  ) {
    this.leases = redis.client
      ? new RedisLeases(redis.client, { onLost: (key) => DocumentWriteLock.logger.warn(`a write held ${key} past its lease: it may not have been exclusive`) })
      : null;
  }

  /** In-process queue, then (with Redis) the cross-process lease of the same document. */
  private exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const leases = this.leases;
    if (!leases) return runExclusive(key, fn);
    return runExclusive(key, () => leases.run(this.redis.key('doclock', key), fn));
  }

  /** True when single-document updates are atomic on the server (MongoDB). Unknown counts as not. */
  get atomicUpdates(): boolean {
    return dialectOf(this.db.capabilities) === 'mongodb';
  }

  /** Runs fn holding the lock of one document (`scope` names the collection and tenant). */
  run<T>(scope: string, id: string, fn: () => Promise<T>): Promise<T> {
    if (this.atomicUpdates) return fn();
    return this.exclusive(`${scope}|${id}`, fn);
  }

  /**
   * Runs fn holding the locks of those documents `ids` that are free now, taken without waiting: in
   * process, then their Redis leases in one round trip (RedisLeases.runFree), released together after
   * fn. fn gets the ids it holds; the others (held or awaited by another writer, here or in another
   * process) are the caller's to write through `run`, which waits. Never waits itself, so it cannot
   * deadlock with holders of several locks. On MongoDB every id is "held" (no lock needed).
   */
  async runFree<T>(scope: string, ids: string[], fn: (held: string[]) => Promise<T>): Promise<T> {
    if (this.atomicUpdates) return fn(ids);
    const taken = new Map<string, () => void>();
    for (const id of new Set(ids)) {
      const release = tryTake(`${scope}|${id}`);
      if (release) taken.set(id, release);
    }
    try {
      const free = [...taken.keys()];
      const leases = this.leases;
      if (!leases) return await fn(free);
      const byKey = new Map(free.map((id) => [this.redis.key('doclock', `${scope}|${id}`), id]));
      return await leases.runFree([...byKey.keys()], (held) => fn(held.map((k) => byKey.get(k)!)));
    } finally {
      for (const release of taken.values()) release();
    }
  }

  /** Holds the locks of several documents (taken in sorted order, so two callers never deadlock). */
  async runMany<T>(scope: string, ids: string[], fn: () => Promise<T>): Promise<T> {
    if (this.atomicUpdates) return fn();
    const keys = [...new Set(ids)].sort();
    const acquire = (i: number): Promise<T> => (i === keys.length ? fn() : this.exclusive(`${scope}|${keys[i]}`, () => acquire(i + 1)));
    return acquire(0);
  }
}
