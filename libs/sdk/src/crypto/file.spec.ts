import { bytesToHex, utf8ToBytes } from './encoding';
import { decryptFile, encryptFile, sha256Hex } from './file';
import { toPublicKeyBundle } from './identity';
import { unwrapKey, wrapKeyForRecipients } from './key-wrap';
import { createKeyring, getKeys } from './keyring';
import { randomBytes } from './random';

describe('file encryption', () => {
  it('sha256Hex matches the FIPS 180-2 "abc" vector', () => {
    expect(sha256Hex(utf8ToBytes('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('round-trips and reports the checksum of the ciphertext', () => {
    const bytes = randomBytes(100_000);
    const enc = encryptFile(bytes);
    expect(enc.key).toHaveLength(32);
    expect(enc.nonce).toHaveLength(24);
    expect(enc.ciphertext).toHaveLength(bytes.length + 16);
    expect(enc.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(enc.checksum).toBe(sha256Hex(enc.ciphertext));
    expect(decryptFile({ ...enc })).toEqual(bytes);
    expect(decryptFile({ ciphertext: enc.ciphertext, key: enc.key, nonce: enc.nonce })).toEqual(bytes);
  });

  it('handles empty files and uses a fresh key and nonce each time', () => {
    const a = encryptFile(new Uint8Array(0));
    const b = encryptFile(new Uint8Array(0));
    expect(decryptFile(a)).toEqual(new Uint8Array(0));
    expect(bytesToHex(a.key)).not.toBe(bytesToHex(b.key));
    expect(bytesToHex(a.nonce)).not.toBe(bytesToHex(b.nonce));
  });

  it('detects tampering (checksum first, then AEAD)', () => {
    const enc = encryptFile(utf8ToBytes('confidential pdf'));
    const tampered = enc.ciphertext.slice();
    tampered[3]! ^= 1;
    expect(() => decryptFile({ ...enc, ciphertext: tampered })).toThrow(expect.objectContaining({ code: 'CHECKSUM_MISMATCH' }));
    expect(() => decryptFile({ ciphertext: tampered, key: enc.key, nonce: enc.nonce })).toThrow(
      expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }),
    );
    expect(() => decryptFile({ ...enc, key: randomBytes(32) })).toThrow(expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }));
    expect(() => decryptFile({ ...enc, checksum: 'not-hex' })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });

  it('binds optional associated data', () => {
    const enc = encryptFile(utf8ToBytes('x'), { associatedData: 'conv-1/file-9' });
    expect(decryptFile({ ...enc, associatedData: 'conv-1/file-9' })).toEqual(utf8ToBytes('x'));
    expect(() => decryptFile({ ...enc, associatedData: 'conv-2/file-9' })).toThrow(
      expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }),
    );
    expect(() => decryptFile(enc)).toThrow(expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }));
  });

  it('the file key is distributed with the shared per-recipient wrapping', () => {
    const bob = createKeyring('bob-phone');
    const carol = createKeyring('carol-phone');
    const enc = encryptFile(utf8ToBytes('holiday.jpg bytes'));
    const ctx = 'conv-1/file-9';
    const wrapped = wrapKeyForRecipients({
      key: enc.key,
      recipients: [{ user_id: 'bob', ...toPublicKeyBundle(getKeys(bob)) }],
      context: ctx,
    });
    const key = unwrapKey({ ...wrapped, myUserId: 'bob', myDevice: bob, context: ctx });
    expect(decryptFile({ ...enc, key })).toEqual(utf8ToBytes('holiday.jpg bytes'));
    expect(() => unwrapKey({ ...wrapped, myUserId: 'carol', myDevice: carol, context: ctx })).toThrow(
      expect.objectContaining({ code: 'NO_WRAPPED_KEY' }),
    );
  });
});
