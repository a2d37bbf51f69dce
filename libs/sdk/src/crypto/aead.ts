/**
 * XChaCha20-Poly1305 with a random 24-byte nonce prepended to the ciphertext:
 * sealed = nonce(24) || ciphertext || tag(16).
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { KEY_LENGTH, NONCE_LENGTH, TAG_LENGTH } from './constants';
import { concatBytes } from './encoding';
import { CryptoError } from './errors';
import { randomBytes } from './random';

function assertKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_LENGTH) {
    throw new CryptoError('INVALID_INPUT', `${what} must be a ${KEY_LENGTH}-byte Uint8Array`);
  }
}

/** Encrypt with an explicit nonce; returns ciphertext || tag (no nonce). */
export function aeadEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  assertKey(key, 'key');
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_LENGTH) {
    throw new CryptoError('INVALID_INPUT', `nonce must be ${NONCE_LENGTH} bytes`);
  }
  return xchacha20poly1305(key, nonce, ad).encrypt(plaintext);
}

/** Decrypt ciphertext || tag; throws AUTHENTICATION_FAILED on any mismatch. */
export function aeadDecrypt(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array {
  assertKey(key, 'key');
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_LENGTH) {
    throw new CryptoError('INVALID_INPUT', `nonce must be ${NONCE_LENGTH} bytes`);
  }
  if (ciphertext.length < TAG_LENGTH) {
    throw new CryptoError('AUTHENTICATION_FAILED', 'ciphertext is too short');
  }
  try {
    return xchacha20poly1305(key, nonce, ad).decrypt(ciphertext);
  } catch {
    throw new CryptoError('AUTHENTICATION_FAILED', 'decryption failed: data was tampered with or the key/context is wrong');
  }
}

/** Encrypt under a fresh random nonce and return nonce || ciphertext || tag. */
export function seal(key: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_LENGTH);
  return concatBytes(nonce, aeadEncrypt(key, nonce, plaintext, ad));
}

/** Inverse of {@link seal}. */
export function open(key: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array {
  if (sealed.length < NONCE_LENGTH + TAG_LENGTH) {
    throw new CryptoError('AUTHENTICATION_FAILED', 'ciphertext is too short');
  }
  return aeadDecrypt(key, sealed.subarray(0, NONCE_LENGTH), sealed.subarray(NONCE_LENGTH), ad);
}
