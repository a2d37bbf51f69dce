import { randomBytes } from 'node:crypto';

const b64 = (n: number) => randomBytes(n).toString('base64');

/**
 * A well-formed E2E envelope (random bytes of the right sizes) with one wrapped key per recipient. The
 * server only checks shape and size, so this is enough for most tests; one test uses the real SDK.
 */
export function fakeEnvelope(recipients: string[], opts: { dataBytes?: number; type?: string } = {}) {
  return {
    type: opts.type ?? 'text',
    algorithm: 'x25519-hkdf-xchacha20poly1305-v1',
    sender_device_id: 'device-1',
    sender_key_version: 1,
    ephemeral_public_key: b64(32),
    encrypted_data: b64(opts.dataBytes ?? 64),
    encrypted_key: recipients.map((user_id) => ({ user_id, device_id: 'device-1', key_version: 1, wrapped_key: b64(72) })),
  };
}

export const randomId = (prefix: string) => `${prefix}_${randomBytes(5).toString('hex')}`;
