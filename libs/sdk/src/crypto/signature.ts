/**
 * Ed25519 envelope signatures.
 *
 * Signed bytes = canon[ALGORITHM, "message-signature", conversationId, senderId,
 *   type, algorithm, sender_device_id, sender_key_version, ephemeral_public_key,
 *   encrypted_data, count, entry_1, ..., entry_n]
 * where entry_i = canon[user_id, device_id, key_version, wrapped_key] and the
 * entries are sorted by their encoding (so array order does not matter, but
 * adding, removing or altering any entry does). Base64 fields are signed as
 * the exact strings transmitted. A franking commitment, when present, is appended
 * as canon["franking-v1", franking_commitment] (envelopes without one sign the
 * same bytes as before).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { compareBytes, encodeFields } from './canonical';
import { ALGORITHM, ED25519_PUBLIC_KEY_LENGTH, ED25519_SECRET_KEY_LENGTH, ED25519_SIGNATURE_LENGTH, LABELS } from './constants';
import { base64ToFixedBytes, bytesToBase64 } from './encoding';
import { CryptoError } from './errors';
import { keyBytes } from './identity';
import { frankingFields, type EncryptedMessageContent } from './envelope';

export function messageSigningBytes(
  content: Omit<EncryptedMessageContent, 'signature'>,
  conversationId: string,
  senderId: string,
): Uint8Array {
  const entries = content.encrypted_key
    .map((e) => encodeFields([e.user_id, e.device_id, e.key_version, e.wrapped_key]))
    .sort(compareBytes);
  return encodeFields([
    ALGORITHM,
    LABELS.signature,
    conversationId,
    senderId,
    content.type,
    content.algorithm,
    content.sender_device_id,
    content.sender_key_version,
    content.ephemeral_public_key,
    content.encrypted_data,
    entries.length,
    ...entries,
    ...frankingFields(content),
  ]);
}

/** Returns the base64 signature. */
export function signMessageContent(
  content: Omit<EncryptedMessageContent, 'signature'>,
  conversationId: string,
  senderId: string,
  signingSecretKey: Uint8Array,
): string {
  const sk = keyBytes(signingSecretKey, ED25519_SECRET_KEY_LENGTH, 'signingKey');
  return bytesToBase64(ed25519.sign(messageSigningBytes(content, conversationId, senderId), sk));
}

/**
 * Strict verification (RFC 8032 / non-ZIP-215 encodings, so signatures are
 * not malleable). Returns false for any invalid signature; throws
 * SIGNATURE_MISSING if the envelope carries none.
 */
export function verifyMessageSignature(
  content: EncryptedMessageContent,
  conversationId: string,
  senderId: string,
  signingPublicKey: Uint8Array | string,
): boolean {
  if (content.signature === undefined) {
    throw new CryptoError('SIGNATURE_MISSING', 'message is not signed');
  }
  const pk = keyBytes(signingPublicKey, ED25519_PUBLIC_KEY_LENGTH, 'sender signing key');
  let sig: Uint8Array;
  try {
    sig = base64ToFixedBytes(content.signature, ED25519_SIGNATURE_LENGTH, 'signature');
  } catch {
    return false;
  }
  try {
    return ed25519.verify(sig, messageSigningBytes(content, conversationId, senderId), pk, { zip215: false });
  } catch {
    return false;
  }
}
