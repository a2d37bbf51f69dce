import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeFields } from './canonical';
import { base64ToBytes, bytesToBase64, bytesToUtf8, utf8ToBytes } from './encoding';
import { frankingCommit, openFrankedPayload, sealFrankedPayload, verifyFrankingCommitment, type FrankingContext } from './franking';
import { decryptMessage, encryptMessage } from './message';
import { generateDeviceKeys } from './identity';
import { isCryptoError } from './errors';

const ctx: FrankingContext = { tenantId: 't1', conversationId: 'c1', senderId: 'alice', senderDeviceId: 'd1' };
const payload = utf8ToBytes('{"v":1,"kind":"text","text":"you are awful"}');

describe('message franking', () => {
  it('commits with HMAC-SHA256 over the canonical context and payload, and verifies', () => {
    const { frankingKey, commitment } = frankingCommit(payload, ctx);
    expect(frankingKey).toHaveLength(32);
    expect(base64ToBytes(commitment)).toHaveLength(32);
    // The construction, spelled out: a reviewer can check it against the docs.
    const expected = hmac(sha256, frankingKey, encodeFields(['franking-v1', 't1', 'c1', 'alice', 'd1', payload]));
    expect(commitment).toBe(bytesToBase64(expected));
    expect(verifyFrankingCommitment({ frankingKey, payloadBytes: payload, context: ctx, commitment })).toBe(true);
    expect(verifyFrankingCommitment({ frankingKey: bytesToBase64(frankingKey), payloadBytes: payload, context: ctx, commitment })).toBe(true);
    // Fresh key per message: the same payload gives unrelated commitments.
    expect(frankingCommit(payload, ctx).commitment).not.toBe(commitment);
  });

  it('fails for another payload, key, context field or commitment, and for malformed input', () => {
    const { frankingKey, commitment } = frankingCommit(payload, ctx);
    const altered = utf8ToBytes('{"v":1,"kind":"text","text":"you are lovely"}');
    expect(verifyFrankingCommitment({ frankingKey, payloadBytes: altered, context: ctx, commitment })).toBe(false);
    expect(verifyFrankingCommitment({ frankingKey: new Uint8Array(32), payloadBytes: payload, context: ctx, commitment })).toBe(false);
    for (const field of ['tenantId', 'conversationId', 'senderId', 'senderDeviceId'] as const) {
      expect(verifyFrankingCommitment({ frankingKey, payloadBytes: payload, context: { ...ctx, [field]: 'other' }, commitment })).toBe(false);
    }
    expect(verifyFrankingCommitment({ frankingKey, payloadBytes: payload, context: ctx, commitment: frankingCommit(payload, ctx).commitment })).toBe(false);
    expect(verifyFrankingCommitment({ frankingKey: 'not base64!', payloadBytes: payload, context: ctx, commitment })).toBe(false);
    expect(verifyFrankingCommitment({ frankingKey, payloadBytes: payload, context: ctx, commitment: 'AAAA' })).toBe(false);
    expect(verifyFrankingCommitment({ frankingKey: frankingKey.subarray(0, 16), payloadBytes: payload, context: ctx, commitment })).toBe(false);
  });

  it('wraps the key inside the plaintext and checks the commitment on opening (receiver binding)', () => {
    const text = '{"v":1,"kind":"text","text":"héllo \\u2028 ✓"}';
    const { plaintext, commitment } = sealFrankedPayload(text, ctx);
    const opened = openFrankedPayload(plaintext, commitment, ctx);
    expect(opened.payload).toBe(text);
    expect(opened.franking?.commitment).toBe(commitment);
    expect(verifyFrankingCommitment({ frankingKey: opened.franking!.franking_key, payloadBytes: utf8ToBytes(text), context: ctx, commitment })).toBe(true);

    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return isCryptoError(err) ? err.code : 'other';
      }
      return 'ok';
    };
    const other = sealFrankedPayload(text, ctx).commitment;
    expect(code(() => openFrankedPayload(plaintext, other, ctx))).toBe('AUTHENTICATION_FAILED');
    expect(code(() => openFrankedPayload(plaintext, undefined, ctx))).toBe('AUTHENTICATION_FAILED');
    expect(code(() => openFrankedPayload(plaintext, commitment, { ...ctx, senderId: 'mallory' }))).toBe('AUTHENTICATION_FAILED');
    expect(code(() => openFrankedPayload(utf8ToBytes(text), commitment, ctx))).toBe('AUTHENTICATION_FAILED');
    // An unfranked message (older SDK): no commitment, the plaintext is the payload.
    expect(openFrankedPayload(utf8ToBytes(text), undefined, ctx)).toEqual({ payload: text, franking: null });
  });

  it('binds the commitment into the v1 envelope: stripped or swapped, the message no longer opens or verifies', () => {
    const alice = generateDeviceKeys({ deviceId: 'd1' });
    const bob = generateDeviceKeys({ deviceId: 'b1' });
    const { plaintext, commitment } = sealFrankedPayload('{"v":1,"kind":"text","text":"hi"}', ctx);
    const content = encryptMessage({
      plaintext,
      type: 'text',
      conversationId: 'c1',
      senderId: 'alice',
      senderDevice: alice,
      recipients: [{ user_id: 'bob', device_id: bob.device_id, key_version: bob.key_version, public_key: bob.agreement.publicKey }],
      signingKey: alice.signing!.secretKey,
      frankingCommitment: commitment,
    });
    expect(content.franking_commitment).toBe(commitment);
    const open = (c: typeof content) => decryptMessage({ content: c, conversationId: 'c1', senderId: 'alice', myUserId: 'bob', myDevice: bob, senderSigningKey: alice.signing!.publicKey });
    expect(bytesToUtf8(open(content))).toBe(bytesToUtf8(plaintext));
    const { franking_commitment: _dropped, ...stripped } = content;
    expect(() => open(stripped)).toThrow(expect.objectContaining({ code: 'SIGNATURE_INVALID' }));
    expect(() => open({ ...content, franking_commitment: sealFrankedPayload('x', ctx).commitment })).toThrow(expect.objectContaining({ code: 'SIGNATURE_INVALID' }));
    // Without the signature check the AEAD still refuses it: the commitment is in the associated data.
    expect(() => decryptMessage({ content: stripped, conversationId: 'c1', senderId: 'alice', myUserId: 'bob', myDevice: bob })).toThrow(expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }));
  });
});
