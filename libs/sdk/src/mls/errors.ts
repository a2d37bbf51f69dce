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
 * Why a stored v2 message could not be read (shared contract with the send path):
 * - `not_a_member_then`: the user was not in the conversation when it was sent (and no history bundle gave the key);
 * - `key_not_backed_up`: the user was a member then, but this device holds no key for that epoch and
 *   the key backup (if restored) has none either;
 * - `tampered`: the key is there and the ciphertext, its binding or its signature does not verify;
 * - `unknown_epoch`: the message names an epoch the group never reached or the envelope is malformed.
 */
export type DecryptFailureReason = 'not_a_member_then' | 'key_not_backed_up' | 'tampered' | 'unknown_epoch';
