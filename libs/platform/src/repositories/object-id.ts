import { Types } from 'mongoose';

/** A malformed id is simply "not found": callers get null, never a CastError. */
export function toObjectId(id: unknown): Types.ObjectId | null {
  if (id instanceof Types.ObjectId) return id;
  return typeof id === 'string' && /^[0-9a-f]{24}$/i.test(id) ? new Types.ObjectId(id) : null;
}

/** A document's lock id (StoreDialect.lockFor): its _id in hex. */
export function hexOf(id: Types.ObjectId): string {
  return id.toHexString();
}

/** Cursor pages newest first by _id: the cursor is the last _id of the previous page. */
export function cursorFilter(cursor?: string | null): Record<string, unknown> {
  const c = cursor ? toObjectId(cursor) : null;
  return c ? { _id: { $lt: c } } : {};
}
