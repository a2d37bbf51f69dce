/**
 * Typed error of the SDK's MLS module. `code` is stable for programmatic handling; `message` never
 * holds key material or plaintext.
 */
export type MlsErrorCode =
  /** Malformed bytes or argument (not an MLS message of the expected kind, bad identity, ...). */
  | 'INVALID_INPUT'
  /** This client holds no state for the group. */
  | 'UNKNOWN_GROUP'
  /** A Welcome names none of this client's unused key packages. */
  | 'NO_MATCHING_KEY_PACKAGE'
  /** ts-mls refused the message: tampered, replayed, from another epoch, or not from a member. */
  | 'REJECTED'
  /** A commit of this client waits for the Delivery Service's answer (merge or discard it first). */
  | 'PENDING_COMMIT'
  /** No commit of this client is pending. */
  | 'NO_PENDING_COMMIT';

export class MlsError extends Error {
  readonly code: MlsErrorCode;

  constructor(code: MlsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MlsError';
    this.code = code;
  }
}

/**
 * Why a v2 message could not be read (one reason per message):
 * - `not_a_member_then`: this device was not in the group at the message's epoch (joined later, or removed before it);
 * - `key_not_backed_up`: the device was a member then but holds no key for that epoch, and the key backup has none;
 * - `tampered`: the envelope does not verify (signature, sender not in the group then, AEAD tag, wrong binding);
 * - `unknown_epoch`: an epoch this device cannot place (ahead of the group as the server knows it, or never seen).
 */
export type DecryptFailureReason = 'not_a_member_then' | 'key_not_backed_up' | 'tampered' | 'unknown_epoch';

export class MlsDecryptError extends Error {
  readonly reason: DecryptFailureReason;

  constructor(reason: DecryptFailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MlsDecryptError';
    this.reason = reason;
  }
}
