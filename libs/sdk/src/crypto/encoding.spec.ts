import { base64ToBytes, bytesEqual, bytesToBase64, bytesToHex, bytesToUtf8, hexToBytes, utf8ToBytes } from './encoding';
import { CryptoError } from './errors';
import { randomBytes } from './random';

describe('encoding', () => {
  it('matches the RFC 4648 base64 test vectors', () => {
    const vectors: Array<[string, string]> = [
      ['', ''],
      ['f', 'Zg=='],
      ['fo', 'Zm8='],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg=='],
      ['fooba', 'Zm9vYmE='],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, b64] of vectors) {
      expect(bytesToBase64(utf8ToBytes(plain))).toBe(b64);
      expect(bytesToUtf8(base64ToBytes(b64))).toBe(plain);
    }
  });

  it('round-trips random bytes of every length class', () => {
    for (let len = 0; len < 70; len++) {
      const bytes = randomBytes(len);
      expect(base64ToBytes(bytesToBase64(bytes))).toEqual(bytes);
      expect(hexToBytes(bytesToHex(bytes))).toEqual(bytes);
    }
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(base64ToBytes(bytesToBase64(all))).toEqual(all);
  });

  it('rejects malformed or non-canonical base64', () => {
    for (const bad of ['Zg', 'Zg=', 'Z===', 'Zm9v\n', 'Zm-v', 'Zm_v', 'Zh==', 'Zm9=', 'é===', '====']) {
      expect(() => base64ToBytes(bad)).toThrow(CryptoError);
    }
  });

  it('rejects invalid hex and invalid UTF-8', () => {
    expect(() => hexToBytes('abc')).toThrow(CryptoError);
    expect(() => hexToBytes('zz')).toThrow(CryptoError);
    expect(() => bytesToUtf8(Uint8Array.of(0xff, 0xfe))).toThrow(CryptoError);
  });

  it('compares bytes', () => {
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(bytesEqual(Uint8Array.of(1), Uint8Array.of(1, 2))).toBe(false);
  });

  it('produces fresh random bytes, including more than one getRandomValues chunk', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    expect(bytesEqual(a, b)).toBe(false);
    const big = randomBytes(200_000);
    expect(big.length).toBe(200_000);
    expect(big.subarray(150_000).some((x) => x !== 0)).toBe(true);
  });
});
