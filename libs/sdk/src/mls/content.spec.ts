import { ed25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from '../crypto/random';
import { MlsDecryptError } from './errors';
import { openV2, sealV2, type V2Binding } from './content';

const binding: V2Binding = { tenantId: 't1', conversationId: 'c1', senderUserId: 'alice', senderDeviceId: 'phone', groupId: 'ab'.repeat(16), epoch: 3, type: 'text' };
const secret = ed25519.utils.randomSecretKey();
const publicKey = ed25519.getPublicKey(secret);
const sign = async (bytes: Uint8Array) => ed25519.sign(bytes, secret);
const key = randomBytes(32);
const plaintext = new TextEncoder().encode(JSON.stringify({ v: 1, kind: 'text', text: 'x'.repeat(100) }));

async function reasonOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof MlsDecryptError) return err.reason;
    throw err;
  }
  return 'decrypted';
}

describe('v2 envelope (seal / open)', () => {
  it('round-trips, carries no key list and stays small', async () => {
    const content = await sealV2({ binding, key, sign, plaintext });
    expect(content).toMatchObject({ version: 2, algorithm: 'mls-epoch-aes256gcm-ed25519-v2', group_id: binding.groupId, epoch: 3, sender_device_id: 'phone' });
    expect(content).not.toHaveProperty('encrypted_key');
    expect(JSON.stringify(content).length).toBeLessThan(1024);
    expect(openV2({ content, binding, key, senderSignatureKey: publicKey })).toEqual(plaintext);
  });

  it('refuses as tampered: flipped bytes, another binding, another signer, another key, a changed franking commitment', async () => {
    const content = await sealV2({ binding, key, sign, plaintext, frankingCommitment: 'AAAA' });
    const data = Buffer.from(content.encrypted_data, 'base64');
    data[20]! ^= 1;
    const open = (c = content, b = binding, k = key, pk = publicKey) => () => openV2({ content: c, binding: b, key: k, senderSignatureKey: pk });
    expect(await reasonOf(open({ ...content, encrypted_data: data.toString('base64') }))).toBe('tampered');
    expect(await reasonOf(open(content, { ...binding, conversationId: 'c2' }))).toBe('tampered');
    expect(await reasonOf(open(content, { ...binding, senderUserId: 'mallory' }))).toBe('tampered');
    expect(await reasonOf(open(content, { ...binding, epoch: 4 }))).toBe('tampered');
    expect(await reasonOf(open(content, binding, key, ed25519.getPublicKey(ed25519.utils.randomSecretKey())))).toBe('tampered');
    expect(await reasonOf(open(content, binding, randomBytes(32)))).toBe('tampered');
    expect(await reasonOf(open({ ...content, franking_commitment: 'BBBB' }))).toBe('tampered');
    expect(await reasonOf(open())).toBe('decrypted');
  });
});
