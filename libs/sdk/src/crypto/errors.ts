/**
 * Typed error raised by every function of the SDK crypto module.
 *
 * `code` is stable and meant for programmatic handling; `message` is for humans
 * and never contains key material or plaintext.
 */
export type CryptoErrorCode =
  /** Malformed argument (wrong length, bad base64, unknown message type, ...). */
  | 'INVALID_INPUT'
  /** Envelope announces an algorithm this SDK does not implement. */
  | 'UNSUPPORTED_ALGORITHM'
  /** The envelope holds no wrapped key for this user/device. */
  | 'NO_WRAPPED_KEY'
  /** A wrapped key exists for this device but for a key version the keyring no longer holds. */
  | 'UNKNOWN_KEY_VERSION'
  /** AEAD authentication failed: tampered data, wrong key or wrong context. */
  | 'AUTHENTICATION_FAILED'
  /** A signature was required but is absent. */
  | 'SIGNATURE_MISSING'
  /** The signature does not verify (or the signing key does not belong to the sender device). */
  | 'SIGNATURE_INVALID'
  /** File ciphertext does not match the announced SHA-256 checksum. */
  | 'CHECKSUM_MISMATCH'
  /** No secure random number generator is available in this runtime. */
  | 'RNG_UNAVAILABLE';

export class CryptoError extends Error {
  readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string) {
    super(message);
    this.name = 'CryptoError';
    this.code = code;
    // Keep `instanceof` working when compiled to older targets.
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export function isCryptoError(err: unknown, code?: CryptoErrorCode): err is CryptoError {
  return err instanceof CryptoError && (code === undefined || err.code === code);
}
