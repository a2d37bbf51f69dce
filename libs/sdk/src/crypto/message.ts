/**
 * Message encryption.
 *
 * 1. content key K = 32 random bytes (fresh per message)
 * 2. encrypted_data = nonce || XChaCha20-Poly1305(K, nonce, ad = messageDataAd(...)).encrypt(plaintext)
 * 3. K is wrapped for each recipient device with {@link wrapKeyForRecipients}
 *    (one fresh ephemeral X25519 key for the message), context = messageKeyContext(...)
 * 4. optional Ed25519 signature over {@link messageSigningBytes}.
 */
import { open, seal } from './aead';
import { assertU32 } from './canonical';
import { ALGORITHM, ED25519_PUBLIC_KEY_LENGTH, KEY_LENGTH, isMessageType, type MessageType } from './constants';
import { bytesToBase64, base64ToBytes, base64ToFixedBytes, utf8ToBytes, wipe } from './encoding';
import { FRANKING_COMMITMENT_LENGTH } from './franking';
import { messageDataAd, messageKeyContext, parseMessageContent, type EncryptedMessageContent } from './envelope';
import { CryptoError } from './errors';
import { assertNonEmptyString, keyBytes, type DeviceKeys, type PublicKeyBundle } from './identity';
import { unwrapKey, wrapKeyForRecipients, type RecipientPublicKey, type WrappedKeySet } from './key-wrap';
import type { DeviceKeyring } from './keyring';
import { randomBytes } from './random';
import { signMessageContent, verifyMessageSignature } from './signature';

export interface EncryptMessageInput {
  plaintext: Uint8Array | string;
  type: MessageType;
  conversationId: string;
  /** Sender's external user id. */
  senderId: string;
  /** The sending device (a DeviceKeys value fits). */
  senderDevice: { device_id: string; key_version: number };
  /**
   * Every device that must be able to read the message — normally all current
   * devices of all members, including the sender's own other devices and, if the
   * sender wants to read its own message later, the sending device itself.
   */
  recipients: readonly RecipientPublicKey[];
  /** Ed25519 secret key of the sending device; when given the envelope is signed. */
  signingKey?: Uint8Array;
  /** base64 franking commitment to the payload (franking.ts); bound into the associated data and the signature. */
  frankingCommitment?: string;
}

export interface DecryptMessageInput {
  /** Envelope as received; its shape is re-validated here, so untrusted JSON is fine. */
  content: EncryptedMessageContent;
  conversationId: string;
  /** Sender's external user id (as attributed by the server). */
  senderId: string;
  /** My external user id. */
  myUserId: string;
  /** My device keys: one key version or a keyring holding several. */
  myDevice: DeviceKeys | DeviceKeyring;
  /**
   * Sender device's Ed25519 public key (raw, base64, or its public key bundle —
   * a bundle is also checked against sender_device_id / sender_key_version).
   * When given, a valid signature is REQUIRED.
   */
  senderSigningKey?: Uint8Array | string | PublicKeyBundle;
  /** Fail with SIGNATURE_MISSING/INVALID_INPUT unless a signature is verified. Default: false. */
  requireSignature?: boolean;
  /** A re-shared content key (history sharing), used instead of the envelope's own wrapped keys. */
  keyShare?: WrappedKeySet;
}

export function encryptMessage(input: EncryptMessageInput): EncryptedMessageContent {
  if (!isMessageType(input.type)) throw new CryptoError('INVALID_INPUT', 'invalid message type');
  assertNonEmptyString(input.conversationId, 'conversationId');
  assertNonEmptyString(input.senderId, 'senderId');
  assertNonEmptyString(input.senderDevice?.device_id, 'senderDevice.device_id');
  assertU32(input.senderDevice.key_version, 'senderDevice.key_version');
  if (input.frankingCommitment !== undefined) base64ToFixedBytes(input.frankingCommitment, FRANKING_COMMITMENT_LENGTH, 'frankingCommitment');
  const plaintext = typeof input.plaintext === 'string' ? utf8ToBytes(input.plaintext) : input.plaintext;
  if (!(plaintext instanceof Uint8Array)) throw new CryptoError('INVALID_INPUT', 'plaintext must be a string or Uint8Array');

  const header = {
    type: input.type,
    sender_device_id: input.senderDevice.device_id,
    sender_key_version: input.senderDevice.key_version,
  };
  const contentKey = randomBytes(KEY_LENGTH);
  try {
    const wrapped = wrapKeyForRecipients({
      key: contentKey,
      recipients: input.recipients,
      context: messageKeyContext(input.conversationId, input.senderId, header),
    });
    const franking = input.frankingCommitment === undefined ? {} : { franking_commitment: input.frankingCommitment };
    const ad = messageDataAd(input.conversationId, input.senderId, {
      ...header,
      ephemeral_public_key: wrapped.ephemeral_public_key,
      ...franking,
    });
    const content: EncryptedMessageContent = {
      type: header.type,
      algorithm: ALGORITHM,
      sender_device_id: header.sender_device_id,
      sender_key_version: header.sender_key_version,
      ephemeral_public_key: wrapped.ephemeral_public_key,
      encrypted_data: bytesToBase64(seal(contentKey, plaintext, ad)),
      encrypted_key: wrapped.encrypted_key,
      ...franking,
    };
    if (input.signingKey !== undefined) {
      content.signature = signMessageContent(content, input.conversationId, input.senderId, input.signingKey);
    }
    return content;
  } finally {
    wipe(contentKey);
  }
}

function resolveSigningKey(
  key: Uint8Array | string | PublicKeyBundle,
  content: EncryptedMessageContent,
): Uint8Array {
  if (typeof key === 'string' || key instanceof Uint8Array) {
    return keyBytes(key, ED25519_PUBLIC_KEY_LENGTH, 'senderSigningKey');
  }
  if (key.device_id !== content.sender_device_id || key.key_version !== content.sender_key_version) {
    throw new CryptoError(
      'SIGNATURE_INVALID',
      'the supplied signing key bundle does not belong to the sender device/key version of this message',
    );
  }
  if (key.signing_key === undefined) {
    throw new CryptoError('INVALID_INPUT', 'sender key bundle has no signing_key');
  }
  return keyBytes(key.signing_key, ED25519_PUBLIC_KEY_LENGTH, 'signing_key');
}

/**
 * Verify (optional signature), unwrap the content key. Internal building block
 * of {@link decryptMessage} and history re-sharing; the caller must wipe the key.
 */
export function openMessageKey(input: DecryptMessageInput): { content: EncryptedMessageContent; contentKey: Uint8Array } {
  assertNonEmptyString(input.conversationId, 'conversationId');
  assertNonEmptyString(input.senderId, 'senderId');
  const content = parseMessageContent(input.content);

  if (input.senderSigningKey !== undefined) {
    const pk = resolveSigningKey(input.senderSigningKey, content);
    if (!verifyMessageSignature(content, input.conversationId, input.senderId, pk)) {
      throw new CryptoError('SIGNATURE_INVALID', 'message signature does not verify');
    }
  } else if (input.requireSignature) {
    throw new CryptoError('INVALID_INPUT', 'requireSignature is set but no senderSigningKey was supplied');
  }

  const wraps = input.keyShare ?? content;
  const contentKey = unwrapKey({
    ephemeral_public_key: wraps.ephemeral_public_key,
    encrypted_key: wraps.encrypted_key,
    myUserId: input.myUserId,
    myDevice: input.myDevice,
    context: messageKeyContext(input.conversationId, input.senderId, content),
  });
  return { content, contentKey };
}

export function decryptMessageData(
  content: EncryptedMessageContent,
  contentKey: Uint8Array,
  conversationId: string,
  senderId: string,
): Uint8Array {
  const ad = messageDataAd(conversationId, senderId, content);
  return open(contentKey, base64ToBytes(content.encrypted_data, 'encrypted_data'), ad);
}

/**
 * Decrypt a message envelope for this device.
 *
 * @throws CryptoError NO_WRAPPED_KEY (not a recipient), UNKNOWN_KEY_VERSION,
 *   AUTHENTICATION_FAILED (tampered / wrong conversation / wrong sender),
 *   SIGNATURE_INVALID / SIGNATURE_MISSING, UNSUPPORTED_ALGORITHM, INVALID_INPUT.
 */
export function decryptMessage(input: DecryptMessageInput): Uint8Array {
  const { content, contentKey } = openMessageKey(input);
  try {
    return decryptMessageData(content, contentKey, input.conversationId, input.senderId);
  } finally {
    wipe(contentKey);
  }
}
