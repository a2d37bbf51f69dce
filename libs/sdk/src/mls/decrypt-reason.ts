import type { DecryptFailureReason } from './errors';

/**
 * Why this device holds no key for a stored message's epoch: it was sent before the user was in the
 * conversation's group ('not_a_member_then'; with `shared` history a bundle would have given the key),
 * or a device of the user was in it then but the key is on none of the sources this device has
 * ('key_not_backed_up': the device that had it did not back it up, or this one has not restored it).
 *
 * The server says (GET /v1/conversations/:id/mls/history): `joined_seq` (the conversation's seq when
 * the user joined; messages at or below it were sent before) and `joined_epoch` (the first epoch a
 * device of the user was in the group; null when the group did not exist yet). Before either: not a
 * member then.
 */
export function missingKeyReason(message: { seq?: number; epoch: number | bigint }, joined: { joined_seq: number; joined_epoch: number | null }): DecryptFailureReason {
  if (message.seq !== undefined && message.seq <= joined.joined_seq) return 'not_a_member_then';
  if (joined.joined_epoch !== null && BigInt(message.epoch) < BigInt(joined.joined_epoch)) return 'not_a_member_then';
  return 'key_not_backed_up';
}
