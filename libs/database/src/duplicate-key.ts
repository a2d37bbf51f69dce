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

/**
 * One insertMany of `docs` (unordered): the positions in `docs` of those inserted. A document whose
 * `_id` (or other unique key) exists already is left out, not an error; any other failure throws.
 */
export async function insertNewOnly(collection: { insertMany(docs: never[], opts: { ordered: boolean }): Promise<{ insertedIds: Record<number, unknown> }> }, docs: unknown[]): Promise<Set<number>> {
  if (!docs.length) return new Set();
  try {
    const r = await collection.insertMany(docs as never[], { ordered: false });
    return insertedPositions(r.insertedIds, docs.length);
  } catch (err) {
    if (!onlyDuplicateKeys(err)) throw err;
    const ids = (err as { insertedIds?: Record<number, unknown> }).insertedIds;
    if (ids) return insertedPositions(ids, docs.length);
    // A lone duplicate reported as a plain error: nothing of this one-document insert was new.
    return new Set();
  }
}

/** The positions named by insertMany's insertedIds (the driver leaves out the documents that failed). */
function insertedPositions(ids: Record<number, unknown>, n: number): Set<number> {
  return new Set(Object.keys(ids).map(Number).filter((i) => Number.isInteger(i) && i >= 0 && i < n));
}

/**
 * True when an unordered insertMany failed only on duplicate keys: every write error of a bulk error
 * (insertMany(ordered: false) reports them all in one), or a lone duplicate-key error.
 */
export function onlyDuplicateKeys(err: unknown): boolean {
  const errors = (err as { writeErrors?: Array<{ code?: number; err?: { code?: number } }> }).writeErrors;
  if (!Array.isArray(errors)) return isDuplicateKeyError(err);
  return errors.length > 0 && errors.every((e) => (e.code ?? e.err?.code) === DUPLICATE_KEY_CODE);
}
