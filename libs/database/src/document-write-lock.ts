import { Injectable } from '@nestjs/common';
import { DatabaseInfo } from './database-info';

/**
 * Serialises writes to the same document inside this process, but only on FerretDB.
 *
 * Why: FerretDB v1 (the dev/test database) applies an update by reading the document, changing it in
 * Go and writing the whole document back, with no transaction around the two (FerretDB issue #3040).
 * Two concurrent updates of one document then lose one another: measured here, 40 concurrent
 * `$inc` left the counter at 11 and findAndModify handed out duplicate values. Unique indexes on
 * insert do hold. MongoDB (production) applies single-document updates atomically, so there the lock
 * is skipped. FerretDB deployments are single-node (dev), so an in-process lock is enough; the lock
 * table is shared by every app instance in the process (tests boot several).
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

@Injectable()
export class DocumentWriteLock {
  constructor(private readonly db: DatabaseInfo) {}

  /** True when single-document updates are atomic on the server (MongoDB). Unknown counts as not. */
  get atomicUpdates(): boolean {
    return this.db.capabilities?.server === 'mongodb';
  }

  /** Runs fn holding the lock of one document (`scope` names the collection and tenant). */
  run<T>(scope: string, id: string, fn: () => Promise<T>): Promise<T> {
    if (this.atomicUpdates) return fn();
    return runExclusive(`${scope}|${id}`, fn);
  }

  /** Holds the locks of several documents (taken in sorted order, so two callers never deadlock). */
  async runMany<T>(scope: string, ids: string[], fn: () => Promise<T>): Promise<T> {
    if (this.atomicUpdates) return fn();
    const keys = [...new Set(ids)].sort();
    const acquire = (i: number): Promise<T> => (i === keys.length ? fn() : runExclusive(`${scope}|${keys[i]}`, () => acquire(i + 1)));
    return acquire(0);
  }
}
