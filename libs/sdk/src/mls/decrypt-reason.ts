import type { DecryptFailureReason } from './errors';

/**
 * Why this device holds no key for a stored message's epoch: it was sent before the user joined the
 * conversation ('not_a_member_then'; with `shared` history a bundle would have given the key), or the
 * user was a member but the key is on none of the sources this device has ('key_not_backed_up': the
 * device that had it did not back it up, or this device has not restored the backup).
 *
 * The server says when the user joined (GET /v1/conversations/:id/mls/history): `joined_seq` (the
 * conversation's seq at the join; messages at or below it were sent before) and `joined_epoch` (the
 * group's epoch at the join; null when the group did not exist yet). The seq decides when the message
 * has one (v2 messages travel in the seq stream), else the epoch.
 */
export function missingKeyReason(message: { seq?: number; epoch: number | bigint }, joined: { joined_seq: number; joined_epoch: number | null }): DecryptFailureReason {
  if (message.seq !== undefined) return message.seq > joined.joined_seq ? 'key_not_backed_up' : 'not_a_member_then';
  if (joined.joined_epoch === null) return 'key_not_backed_up';
  return BigInt(message.epoch) >= BigInt(joined.joined_epoch) ? 'key_not_backed_up' : 'not_a_member_then';
}
