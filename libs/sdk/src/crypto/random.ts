import { CryptoError } from './errors';

interface RandomSource {
  getRandomValues<T extends ArrayBufferView | null>(array: T): T;
}

/** getRandomValues fills at most 65536 bytes per call (Web Crypto limit). */
const MAX_CHUNK = 65536;

/**
 * Cryptographically secure random bytes from `globalThis.crypto.getRandomValues`
 * (Web Crypto; available in browsers and Node >= 19 as a global).
 */
export function randomBytes(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new CryptoError('INVALID_INPUT', 'random length must be a non-negative integer');
  }
  const source = (globalThis as { crypto?: Partial<RandomSource> }).crypto;
  if (!source || typeof source.getRandomValues !== 'function') {
    throw new CryptoError('RNG_UNAVAILABLE', 'globalThis.crypto.getRandomValues is not available');
  }
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += MAX_CHUNK) {
    source.getRandomValues(out.subarray(i, Math.min(length, i + MAX_CHUNK)));
  }
  return out;
}
