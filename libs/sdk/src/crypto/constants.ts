/** Algorithm identifier carried in every message envelope. */
export const ALGORITHM = 'x25519-hkdf-xchacha20poly1305-v1' as const;
export type Algorithm = typeof ALGORITHM;

export const MESSAGE_TYPES = ['text', 'file', 'image', 'video', 'audio'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export function isMessageType(value: unknown): value is MessageType {
  return typeof value === 'string' && (MESSAGE_TYPES as readonly string[]).includes(value);
}

/** Sizes in bytes. */
export const KEY_LENGTH = 32; // symmetric keys (content, file, conversation)
export const NONCE_LENGTH = 24; // XChaCha20 nonce
export const TAG_LENGTH = 16; // Poly1305 tag
export const X25519_KEY_LENGTH = 32;
export const ED25519_PUBLIC_KEY_LENGTH = 32;
export const ED25519_SECRET_KEY_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;
/** nonce || ct(32-byte key) || tag */
export const WRAPPED_KEY_LENGTH = NONCE_LENGTH + KEY_LENGTH + TAG_LENGTH;

/** Largest key_version accepted (encoded as u32 in canonical byte strings). */
export const MAX_KEY_VERSION = 0xffffffff;

/** Domain-separation labels (all versioned). */
export const LABELS = {
  wrapKey: 'wrap-key',
  messageKeyContext: 'message-key',
  messageData: 'message-data',
  signature: 'message-signature',
  file: 'file-v1',
  preview: 'preview-v1',
  search: 'search-v1',
  keyCheck: 'key-check-v1',
  conversationKeyWrap: 'conversation-key',
  fileKeyWrap: 'file-key',
  reactionMac: 'reaction-mac-v1',
  reactionEnc: 'reaction-enc-v1',
  reaction: 'reaction-v1',
  franking: 'franking-v1',
} as const;
