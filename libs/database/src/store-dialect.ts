import { Injectable } from '@nestjs/common';
import { DatabaseInfo } from './database-info';
import { DocumentWriteLock } from './document-write-lock';
import { EVENT_TRACE_FIELD, EVENT_TRACE_KEPT, EventTrace } from './event-trace';
import type { StoreDialectName } from './mongo-capabilities';

/**
 * The one place where MongoDB and FerretDB v1 differ for the repositories (docs/architecture.md,
 * "Store dialect"). Repositories write one algorithm, correct on both stores (conditional updates,
 * compare-and-set with a version field, retry on conflict), and ask the dialect only how to *run* it:
 *
 * - `serialised`: FerretDB applies a single-document update as read, change in Go, write back, with
 *   nothing around the two, so two concurrent updates of one document lose one another. There every
 *   write to a document holds its lock (DocumentWriteLock: in-process queue, then a Redis lease); on
 *   MongoDB the update itself is atomic and this is a plain call. A repository that writes under the
 *   lock in several places holds `lockFor(scope)`, its `serialised` with the scope written once.
 * - `findAndModifyProjection`: FerretDB rejects findAndModify with a projection; there the whole
 *   document comes back. Same fields for the caller either way.
 * - `sendUpdates`: independent updates of different documents go as one bulk write on MongoDB and one
 *   at a time on FerretDB (its multi-statement bulk writes are pathologically slow). Same result.
 * - `traceUpdate`: the update appending an event trace (EventTrace) to a document's bounded log, to
 *   merge into the write of the change: `$push` with `$slice` on MongoDB (atomic, no read); on FerretDB
 *   (no `$slice`) `$set` of the log as read under the document's lock.
 * - `updateTogether`: independent updates of several documents by id (a flush of conversations'
 *   last_message): `many(ids)` sends one command for them. MongoDB: one command per 1,000 (atomic per
 *   document, no lock). FerretDB: the documents whose locks are free are taken at once (one Redis round
 *   trip, DocumentWriteLock.runFree) and written in commands of at most 16 statements (FerretDB v1
 *   holds one PostgreSQL connection per statement until the command ends: a command of ~50 statements
 *   exhausts its pool and hangs); each document another writer holds is written alone by `one(id)`
 *   once its lock is free.
 * - `changeEach`: a change of several documents by id that answers them (a batch of webhook claims):
 *   one multi-document round trip on MongoDB; on FerretDB one bare-`_id` write per document, each
 *   under its lock (FerretDB serves only a bare `_id` filter from an index, so an `$in` update scans
 *   the collection, and its updates are not atomic).
 * - `readEach`: a read of several documents by id: one `$in` find on MongoDB; on FerretDB one bare-`_id`
 *   find per document, a few at a time (an `$in` filter is not pushed down to PostgreSQL: it fetches and
 *   decodes the whole collection).
 * - `updateEach`: an update of every document matching a filter is one updateMany on MongoDB (atomic
 *   per document); on FerretDB each matching document is updated alone under its own lock (an
 *   updateMany there could undo a concurrent serialised write of one of them).
 *
 * Chosen once from the server's capabilities at connect (DatabaseInfo.dialect, which also switches
 * tenant repositories to bare-`_id` look-ups on FerretDB); before that it behaves as FerretDB.
 */
@Injectable()
export class StoreDialect {
  constructor(
    private readonly db: DatabaseInfo,
    private readonly lock: DocumentWriteLock,
  ) {}

  get name(): StoreDialectName {
    return this.db.dialect;
  }

  /** Runs one write (or read-then-write) to the document `id`; `scope` names the collection and tenant. */
  serialised<T>(scope: string, id: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.run(scope, id, fn);
  }

  /** As `serialised`, for a write touching several documents (locks taken in sorted order). */
  serialisedMany<T>(scope: string, ids: string[], fn: () => Promise<T>): Promise<T> {
    return this.lock.runMany(scope, ids, fn);
  }

  /**
   * A repository's lock for its documents: `serialised` (and `serialisedMany`) with its scope, for every
   * write the repository makes. `scope` is a function when it names the request's tenant (evaluated at
   * each call, as the scope was); `idOf` turns the key the repository has at hand into the document's
   * lock id (default: the key is the id).
   */
  lockFor<K = string>(scope: string | (() => string), idOf: (key: K) => string = String): DocumentLock<K> {
    const scopeNow = typeof scope === 'string' ? () => scope : scope;
    const lock = <T>(key: K, fn: () => Promise<T>): Promise<T> => this.serialised(scopeNow(), idOf(key), fn);
    lock.many = <T>(keys: K[], fn: () => Promise<T>): Promise<T> => this.serialisedMany(scopeNow(), keys.map(idOf), fn);
    lock.scope = scopeNow;
    return lock;
  }

  /** The projection to give findOneAndUpdate: the asked one on MongoDB, none on FerretDB. */
  findAndModifyProjection<P extends Record<string, 0 | 1>>(projection: P): { projection: P } | Record<string, never> {
    return this.name === 'mongodb' ? { projection } : {};
  }

  /** Sends independent updates of distinct documents: `bulk` once on MongoDB, `one` per update on FerretDB. */
  async sendUpdates<Op>(ops: Op[], bulk: (ops: Op[]) => Promise<unknown>, one: (op: Op) => Promise<unknown>): Promise<void> {
    if (!ops.length) return;
    if (this.name === 'mongodb') {
      await bulk(ops);
      return;
    }
    for (const op of ops) await one(op);
  }

  /**
   * Updates the documents `ids`, each independently, in as few commands as the store allows (see the
   * class comment). The outcome per id, in the order of `ids`: a failed command fails the ids it
   * carried (on FerretDB the statements before the failing one may have been applied, so the updates
   * must be safe to repeat).
   */
  async updateTogether(scope: string, ids: string[], how: { many: (ids: string[]) => Promise<unknown>; one: (id: string) => Promise<unknown> }): Promise<PromiseSettledResult<void>[]> {
    const results = new Map<string, PromiseSettledResult<void>>();
    const send = async (chunk: string[], write: Promise<unknown>) => {
      let outcome: PromiseSettledResult<void>;
      try {
        await write;
        outcome = { status: 'fulfilled', value: undefined };
      } catch (reason) {
        outcome = { status: 'rejected', reason };
      }
      for (const id of chunk) results.set(id, outcome);
    };
    const unique = [...new Set(ids)];
    if (this.name === 'mongodb') {
      for (const chunk of chunksOf(unique, MONGODB_STATEMENTS)) await send(chunk, how.many(chunk));
    } else {
      let busy: string[] = [];
      try {
        await this.lock.runFree(scope, unique, async (held) => {
          const mine = new Set(held);
          busy = unique.filter((id) => !mine.has(id));
          for (const chunk of chunksOf(held, FERRETDB_STATEMENTS)) await send(chunk, how.many(chunk));
        });
      } catch (reason) {
        // The leases could not be taken (Redis down): nothing was written.
        for (const id of unique) if (!results.has(id)) results.set(id, { status: 'rejected', reason });
      }
      await eachAtOnce(busy, 8, async (id) => {
        await send([id], this.serialised(scope, id, () => how.one(id)));
        return null;
      });
    }
    return ids.map((id) => results.get(id)!);
  }

  /**
   * Changes the documents `ids`: `many` once on MongoDB, `one(id)` per document under its lock on
   * FerretDB, at most `atOnce` at a time (default: all): a background batch (webhook outcomes) that
   * sent hundreds of writes at once would hold the whole connection pool and FerretDB away from the
   * requests waiting behind it.
   */
  async changeEach<T>(scope: string, ids: string[], how: { many: () => Promise<T[]>; one: (id: string) => Promise<T | null> }, atOnce = Infinity): Promise<T[]> {
    if (!ids.length) return [];
    if (this.name === 'mongodb') return how.many();
    // Distinct documents, each under its own lock: concurrently, as separate callers would write them.
    return eachAtOnce(ids, atOnce, (id) => this.serialised(scope, id, () => how.one(id)));
  }

  /** Reads the documents `ids`: `many` once on MongoDB, `one(id)` per document on FerretDB, `atOnce` at a time. */
  async readEach<T>(ids: string[], how: { many: () => Promise<T[]>; one: (id: string) => Promise<T | null> }, atOnce = 16): Promise<T[]> {
    if (!ids.length) return [];
    if (this.name === 'mongodb') return how.many();
    return eachAtOnce(ids, atOnce, (id) => how.one(id));
  }

  /**
   * Updates every document matching a filter; returns how many changed. `many` is the updateMany;
   * `ids` lists the matching documents and `one(id)` updates one of them with the filter re-checked.
   */
  async updateEach(
    scope: string,
    how: { many: () => Promise<number>; ids: () => Promise<string[]>; one: (id: string) => Promise<number> },
  ): Promise<number> {
    if (this.name === 'mongodb') return how.many();
    let modified = 0;
    for (const id of await how.ids()) modified += await this.serialised(scope, id, () => how.one(id));
    return modified;
  }

  /**
   * The update operators that append `trace` (one or several) to the document's `event_trace` (at most EVENT_TRACE_KEPT
   * kept), to merge into the update making the change. On FerretDB `current` reads the document's log:
   * call this inside `serialised` for that document, so no other write lands between read and write.
   */
  async traceUpdate(trace: EventTrace | EventTrace[], current: () => Promise<EventTrace[] | undefined | null>): Promise<Record<string, Record<string, unknown>>> {
    const traces = Array.isArray(trace) ? trace : [trace];
    if (this.name === 'mongodb') return { $push: { [EVENT_TRACE_FIELD]: { $each: traces, $slice: -EVENT_TRACE_KEPT } } };
    const log = (await current()) ?? [];
    return { $set: { [EVENT_TRACE_FIELD]: [...log, ...traces].slice(-EVENT_TRACE_KEPT) } };
  }
}

/** StoreDialect.lockFor: one repository's document lock. */
export interface DocumentLock<K = string> {
  /** Runs one write (or read-then-write) to the document `key` under its lock (`serialised`). */
  <T>(key: K, fn: () => Promise<T>): Promise<T>;
  /** As a call, for a write touching several documents (`serialisedMany`: locks taken in sorted order). */
  many<T>(keys: K[], fn: () => Promise<T>): Promise<T>;
  /** The scope, for the dialect's other writes of these documents (`updateEach`, `updateTogether`). */
  scope(): string;
}

/** Statements per command of `updateTogether`: MongoDB's are cheap; see the class comment for FerretDB's. */
const MONGODB_STATEMENTS = 1000;
const FERRETDB_STATEMENTS = 16;

function chunksOf<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * `one(id)` for every id, `atOnce` at a time: workers that each take the next id as soon as theirs is
 * done (not lock-step groups, where every group waits for its slowest call while the other places sit
 * idle). The non-null answers, in the order of `ids`.
 */
async function eachAtOnce<T>(ids: string[], atOnce: number, one: (id: string) => Promise<T | null>): Promise<T[]> {
  const each: Array<T | null> = new Array<T | null>(ids.length).fill(null);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const i = next++;
      each[i] = await one(ids[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(atOnce, ids.length)) }, worker));
  return each.filter((r): r is Awaited<T> => r !== null) as T[];
}
