import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';

/**
 * An ObjectId for a resource a tenant can name in the API (conversation, file, message), that no
 * other tenant can predict.
 *
 * Why: a default ObjectId is 4 bytes of seconds, 5 bytes fixed per process and a 3-byte counter shared
 * by every tenant, so one id of one's own gives the ids created just before and after it in other
 * tenants, and an API that answers "not found" a little faster or slower for them than for ids that
 * never existed tells which ones do. Here the 8 bytes after the seconds are the milliseconds within
 * the second (2 bytes, so ids still sort by creation time to the millisecond, and getTimestamp()
 * still works) and 48 random bits: guessing one existing id takes ~2^47 tries.
 */
export function unguessableObjectId(now: number = Date.now()): Types.ObjectId {
  const bytes = Buffer.alloc(12);
  bytes.writeUInt32BE(Math.floor(now / 1000), 0);
  bytes.writeUInt16BE(((now % 1000) + 1000) % 1000, 4);
  randomBytes(6).copy(bytes, 6);
  return new Types.ObjectId(bytes);
}
