/** MongoDB's (and FerretDB's) duplicate-key error code. */
export const DUPLICATE_KEY_CODE = 11000;

/**
 * True for a unique-index violation in any of the shapes the driver and Mongoose report it: a plain
 * error with code 11000, a bulk write error carrying it in `writeErrors`, a write error wrapping it in
 * `err`, or only the `E11000` text (seen from FerretDB).
 */
export function isDuplicateKeyError(err: unknown): boolean {
  const e = err as { code?: number; err?: { code?: number }; writeErrors?: Array<{ code?: number }>; errmsg?: string; message?: string } | null;
  if (!e) return false;
  if (e.code === DUPLICATE_KEY_CODE || e.err?.code === DUPLICATE_KEY_CODE) return true;
  if (e.writeErrors?.some((w) => w.code === DUPLICATE_KEY_CODE)) return true;
  return /E11000/.test(String(e.errmsg ?? e.message ?? ''));
}

/**
 * replaceOne by `_id` with upsert, again when a concurrent upsert of the same `_id` inserted it first:
 * FerretDB's upsert reads, then inserts, so the later of two fails with a duplicate key error (MongoDB
 * retries such an upsert itself); written again, it replaces the one that won.
 */
export async function replaceOrInsert<T extends { _id: unknown }>(collection: { replaceOne(filter: never, doc: never, opts: { upsert: boolean }): Promise<unknown> }, doc: T): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await collection.replaceOne({ _id: doc._id } as never, doc as never, { upsert: true });
      return;
    } catch (err) {
      if (!isDuplicateKeyError(err) || attempt >= 3) throw err;
    }
  }
}
