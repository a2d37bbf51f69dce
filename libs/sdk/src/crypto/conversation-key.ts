/**
 * Conversation key: a symmetric 32-byte key shared by the members of a
 * conversation (distributed with {@link wrapKeyForRecipients}). It is never
 * used directly: purpose-specific subkeys are derived with HKDF-SHA256
 * (no salt, info = purpose label), e.g. "preview-v1" and "search-v1".
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeFields } from './canonical';
import { ALGORITHM, KEY_LENGTH, LABELS } from './constants';
import { bytesToHex, utf8ToBytes, wipe } from './encoding';
import { CryptoError } from './errors';
import { randomBytes } from './random';

export function generateConversationKey(): Uint8Array {
  return randomBytes(KEY_LENGTH);
}

export function assertConversationKey(key: unknown): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== KEY_LENGTH) {
    throw new CryptoError('INVALID_INPUT', `conversation key must be a ${KEY_LENGTH}-byte Uint8Array`);
  }
}

export function deriveConversationSubkey(conversationKey: Uint8Array, info: string): Uint8Array {
  assertConversationKey(conversationKey);
  return hkdf(sha256, conversationKey, undefined, utf8ToBytes(info), KEY_LENGTH);
}

/**
 * Key check value of a conversation key: hex(HKDF(key, "key-check-v1")[0..16]). Stored by the server
 * with each conversation key version, so a member can tell the genuine key from a bogus share without
 * the server learning anything usable (it is a one-way function of the key under its own label).
 */
export function conversationKeyCheck(conversationKey: Uint8Array): string {
  const derived = deriveConversationSubkey(conversationKey, LABELS.keyCheck);
  const hex = bytesToHex(derived.subarray(0, 16));
  wipe(derived);
  return hex;
}

/** Wrap context binding a conversation key to its conversation and version. */
export function conversationKeyContext(conversationId: string, keyVersion: number): Uint8Array {
  return encodeFields([ALGORITHM, LABELS.conversationKeyWrap, conversationId, keyVersion]);
}

/** Wrap context binding a file key to its file id (when it is not carried inside a message). */
export function fileKeyContext(fileId: string): Uint8Array {
  return encodeFields([ALGORITHM, LABELS.fileKeyWrap, fileId]);
}
