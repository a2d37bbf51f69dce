import { randomBytes } from 'node:crypto';

/**
 * A `message:send` payload of a v1 group message: one wrapped key per member (`userId(i)` names the
 * i-th), random base64 bodies of a short text's sizes. For the in-process probes of the send's checks
 * (bench/src/validate-cost.ts, bench/tools/send-gate-alloc.js).
 */
export function groupSendPayload(members: number, userId: (i: number) => string) {
  const b64 = (n: number) => randomBytes(n).toString('base64');
  return {
    conversation_id: '6b13556d5571d53bc6897402',
    client_msg_id: 'b-0-1-1',
    content: {
      type: 'text',
      algorithm: 'x25519-hkdf-xchacha20poly1305-v1',
      sender_device_id: 'd1',
      sender_key_version: 1,
      ephemeral_public_key: b64(32),
      encrypted_data: b64(120),
      encrypted_key: Array.from({ length: members }, (_, i) => ({ user_id: userId(i), device_id: 'd1', key_version: 1, wrapped_key: b64(72) })),
    },
  };
}
