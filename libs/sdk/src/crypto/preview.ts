/**
 * Encrypted conversation previews (e.g. "last message" snippet stored by the
 * server). Key = HKDF(conversationKey, info "preview-v1"); output is
 * base64(nonce || ciphertext || tag); associated data canon["preview-v1",
 * conversationId] when a conversation id is given (recommended, so a preview
 * cannot be moved to another conversation sharing the same key).
 */
import { open, seal } from './aead';
import { encodeFields } from './canonical';
import { LABELS } from './constants';
import { deriveConversationSubkey } from './conversation-key';
import { base64ToBytes, bytesToBase64, bytesToUtf8, utf8ToBytes, wipe } from './encoding';
import { CryptoError } from './errors';

export interface PreviewOptions {
  conversationId?: string;
}

function previewAd(options: PreviewOptions): Uint8Array {
  return encodeFields([LABELS.preview, options.conversationId ?? '']);
}

export function encryptPreview(text: string, conversationKey: Uint8Array, options: PreviewOptions = {}): string {
  if (typeof text !== 'string') throw new CryptoError('INVALID_INPUT', 'preview text must be a string');
  const key = deriveConversationSubkey(conversationKey, LABELS.preview);
  try {
    return bytesToBase64(seal(key, utf8ToBytes(text), previewAd(options)));
  } finally {
    wipe(key);
  }
}

export function decryptPreview(encrypted: string, conversationKey: Uint8Array, options: PreviewOptions = {}): string {
  const sealed = base64ToBytes(encrypted, 'encrypted preview');
  const key = deriveConversationSubkey(conversationKey, LABELS.preview);
  try {
    return bytesToUtf8(open(key, sealed, previewAd(options)));
  } finally {
    wipe(key);
  }
}
