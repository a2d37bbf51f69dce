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
