/**
 * The message envelope (`content`) exchanged with the server, and the
 * associated-data / context byte strings derived from it.
 */
import { assertU32, encodeFields } from './canonical';
import {
  ALGORITHM,
  ED25519_SIGNATURE_LENGTH,
  LABELS,
  NONCE_LENGTH,
  TAG_LENGTH,
  WRAPPED_KEY_LENGTH,
  X25519_KEY_LENGTH,
  isMessageType,
  type Algorithm,
  type MessageType,
} from './constants';
import { base64ToBytes, base64ToFixedBytes } from './encoding';
import { CryptoError } from './errors';

/** Length of a franking commitment (HMAC-SHA256), as franking.ts makes it. */
const FRANKING_COMMITMENT_BYTES = 32;
import { assertNonEmptyString } from './identity';
import type { WrappedKey } from './key-wrap';

export interface EncryptedMessageContent {
  type: MessageType;
  algorithm: Algorithm;
  sender_device_id: string;
  sender_key_version: number;
  /** base64 X25519 ephemeral public key. */
  ephemeral_public_key: string;
  /** base64(nonce(24) || ciphertext || tag(16)). */
  encrypted_data: string;
  encrypted_key: WrappedKey[];
  /** base64 Ed25519 signature over {@link messageSigningBytes}. */
  signature?: string;
  /**
   * base64 HMAC-SHA256 franking commitment (32 bytes) to the payload (see franking.ts). Bound into the
   * associated data of `encrypted_data` and into the signature, so it cannot be stripped or swapped.
   */
  franking_commitment?: string;
}

/**
 * Validate an untrusted value as an envelope (shape, algorithm, base64 and
 * lengths). Returns a fresh object containing only the known fields.
 */
export function parseMessageContent(value: unknown): EncryptedMessageContent {
  if (typeof value !== 'object' || value === null) {
    throw new CryptoError('INVALID_INPUT', 'message content must be an object');
  }
  const v = value as Record<string, unknown>;
  if (v['algorithm'] !== ALGORITHM) {
    throw new CryptoError('UNSUPPORTED_ALGORITHM', `unsupported algorithm ${JSON.stringify(v['algorithm'])}`);
  }
  const type = v['type'];
  if (!isMessageType(type)) throw new CryptoError('INVALID_INPUT', 'invalid message type');
  assertNonEmptyString(v['sender_device_id'], 'sender_device_id');
  assertU32(v['sender_key_version'], 'sender_key_version');
  if (typeof v['ephemeral_public_key'] !== 'string' || typeof v['encrypted_data'] !== 'string') {
    throw new CryptoError('INVALID_INPUT', 'ephemeral_public_key and encrypted_data must be strings');
  }
  base64ToFixedBytes(v['ephemeral_public_key'], X25519_KEY_LENGTH, 'ephemeral_public_key');
  if (base64ToBytes(v['encrypted_data'], 'encrypted_data').length < NONCE_LENGTH + TAG_LENGTH) {
    throw new CryptoError('INVALID_INPUT', 'encrypted_data is too short');
  }
  const rawKeys = v['encrypted_key'];
  if (!Array.isArray(rawKeys) || rawKeys.length === 0) {
    throw new CryptoError('INVALID_INPUT', 'encrypted_key must be a non-empty array');
  }
  const encrypted_key = rawKeys.map((raw: unknown): WrappedKey => {
    if (typeof raw !== 'object' || raw === null) throw new CryptoError('INVALID_INPUT', 'encrypted_key entry must be an object');
    const e = raw as Record<string, unknown>;
    assertNonEmptyString(e['user_id'], 'encrypted_key.user_id');
    assertNonEmptyString(e['device_id'], 'encrypted_key.device_id');
    assertU32(e['key_version'], 'encrypted_key.key_version');
    if (typeof e['wrapped_key'] !== 'string') throw new CryptoError('INVALID_INPUT', 'wrapped_key must be a string');
    base64ToFixedBytes(e['wrapped_key'], WRAPPED_KEY_LENGTH, 'wrapped_key');
    return { user_id: e['user_id'], device_id: e['device_id'], key_version: e['key_version'], wrapped_key: e['wrapped_key'] };
  });
  const content: EncryptedMessageContent = {
    type,
    algorithm: ALGORITHM,
    sender_device_id: v['sender_device_id'],
    sender_key_version: v['sender_key_version'],
    ephemeral_public_key: v['ephemeral_public_key'],
    encrypted_data: v['encrypted_data'],
    encrypted_key,
  };
  if (v['signature'] !== undefined) {
    if (typeof v['signature'] !== 'string') throw new CryptoError('INVALID_INPUT', 'signature must be a string');
    base64ToFixedBytes(v['signature'], ED25519_SIGNATURE_LENGTH, 'signature');
    content.signature = v['signature'];
  }
  if (v['franking_commitment'] !== undefined) {
    if (typeof v['franking_commitment'] !== 'string') throw new CryptoError('INVALID_INPUT', 'franking_commitment must be a string');
    base64ToFixedBytes(v['franking_commitment'], FRANKING_COMMITMENT_BYTES, 'franking_commitment');
    content.franking_commitment = v['franking_commitment'];
  }
  return content;
}

type MessageHeader = Pick<EncryptedMessageContent, 'type' | 'sender_device_id' | 'sender_key_version'>;

/** Context the content key wraps are bound to. */
export function messageKeyContext(conversationId: string, senderId: string, header: MessageHeader): Uint8Array {
  return encodeFields([
    ALGORITHM,
    LABELS.messageKeyContext,
    conversationId,
    senderId,
    header.type,
    header.sender_device_id,
    header.sender_key_version,
  ]);
}

/** The trailing fields a franking commitment adds to the associated data and the signed bytes (none without one: older envelopes keep their bytes). */
export function frankingFields(content: Pick<EncryptedMessageContent, 'franking_commitment'>): string[] {
  return content.franking_commitment === undefined ? [] : [LABELS.franking, content.franking_commitment];
}

/** Associated data of `encrypted_data`. */
export function messageDataAd(
  conversationId: string,
  senderId: string,
  header: MessageHeader & Pick<EncryptedMessageContent, 'ephemeral_public_key' | 'franking_commitment'>,
): Uint8Array {
  return encodeFields([
    ALGORITHM,
    LABELS.messageData,
    conversationId,
    senderId,
    header.type,
    header.sender_device_id,
    header.sender_key_version,
    header.ephemeral_public_key,
    ...frankingFields(header),
  ]);
}
