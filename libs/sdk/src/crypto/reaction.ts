/**
 * Encrypted reactions. A reaction has to stay countable by the server (two members reacting with the
 * same emoji to the same message must produce the same value) and fit the server's emoji field (at
 * most 64 characters, no whitespace or slash). So it is a deterministic, SIV-style encryption:
 *
 *   kmac  = HKDF(conversationKey, "reaction-mac-v1"),  kenc = HKDF(conversationKey, "reaction-enc-v1")
 *   siv   = HMAC-SHA256(kmac, canon["reaction-v1", conversationId, messageId, emoji])[0..16]
 *   ct    = XChaCha20(kenc, nonce = siv || 0^8) XOR utf8(emoji)
 *   token = "r1" || base64url(siv || ct)            (no padding)
 *
 * Decryption recomputes the SIV over the recovered emoji and compares (constant time), which
 * authenticates the token. Leakage: within one message, equal reactions give equal tokens (that is the
 * point); across messages, conversations and key versions the tokens are unrelated.
 */
import { xchacha20 } from '@noble/ciphers/chacha.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeFields } from './canonical';
import { LABELS } from './constants';
import { deriveConversationSubkey } from './conversation-key';
import { bytesEqual, bytesToUtf8, concatBytes, utf8ToBytes, wipe } from './encoding';
import { CryptoError } from './errors';

export const REACTION_TOKEN_PREFIX = 'r1';
const SIV_LENGTH = 16;
/** Server limit of 64 characters: "r1" + base64url(16 + n bytes) <= 64 gives n <= 30. */
export const MAX_REACTION_BYTES = 30;

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64URL[(n >> 18) & 63]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += B64URL[(n >> 18) & 63]! + B64URL[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += B64URL[(n >> 18) & 63]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]!;
  }
  return out;
}

function fromBase64Url(text: string): Uint8Array {
  if (text.length % 4 === 1) throw new CryptoError('INVALID_INPUT', 'reaction token is not valid base64url');
  const values: number[] = [];
  for (const ch of text) {
    const v = B64URL.indexOf(ch);
    if (v < 0) throw new CryptoError('INVALID_INPUT', 'reaction token is not valid base64url');
    values.push(v);
  }
  const out = new Uint8Array(Math.floor((values.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const v of values) {
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // Leftover bits must be zero: one accepted encoding per byte string.
  if (bits > 0 && (acc & ((1 << bits) - 1)) !== 0) throw new CryptoError('INVALID_INPUT', 'reaction token is not canonical base64url');
  return out;
}

function siv(conversationKey: Uint8Array, conversationId: string, messageId: string, emoji: Uint8Array): Uint8Array {
  const kmac = deriveConversationSubkey(conversationKey, LABELS.reactionMac);
  try {
    return hmac(sha256, kmac, encodeFields([LABELS.reaction, conversationId, messageId, emoji])).subarray(0, SIV_LENGTH);
  } finally {
    wipe(kmac);
  }
}

function keystreamXor(conversationKey: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const kenc = deriveConversationSubkey(conversationKey, LABELS.reactionEnc);
  try {
    return xchacha20(kenc, concatBytes(iv, new Uint8Array(8)), data);
  } finally {
    wipe(kenc);
  }
}

export interface ReactionContext {
  conversationId: string;
  messageId: string;
}

/** The reaction token to send instead of the emoji (deterministic per conversation key, message and emoji). */
export function encryptReaction(emoji: string, conversationKey: Uint8Array, ctx: ReactionContext): string {
  if (typeof emoji !== 'string' || emoji.length === 0) throw new CryptoError('INVALID_INPUT', 'reaction must be a non-empty string');
  const bytes = utf8ToBytes(emoji);
  if (bytes.length > MAX_REACTION_BYTES) throw new CryptoError('INVALID_INPUT', `reaction must be at most ${MAX_REACTION_BYTES} UTF-8 bytes`);
  const iv = siv(conversationKey, ctx.conversationId, ctx.messageId, bytes);
  return REACTION_TOKEN_PREFIX + toBase64Url(concatBytes(iv, keystreamXor(conversationKey, iv, bytes)));
}

/** True when the value looks like a reaction token (as opposed to a plaintext emoji from an older client). */
export function isReactionToken(value: string): boolean {
  return typeof value === 'string' && value.startsWith(REACTION_TOKEN_PREFIX) && /^[A-Za-z0-9_-]+$/.test(value.slice(REACTION_TOKEN_PREFIX.length));
}

/** The emoji of a reaction token. AUTHENTICATION_FAILED for a token of another key, message or conversation. */
export function decryptReaction(token: string, conversationKey: Uint8Array, ctx: ReactionContext): string {
  if (!isReactionToken(token)) throw new CryptoError('INVALID_INPUT', 'not a reaction token');
  const raw = fromBase64Url(token.slice(REACTION_TOKEN_PREFIX.length));
  if (raw.length <= SIV_LENGTH) throw new CryptoError('INVALID_INPUT', 'reaction token is too short');
  const iv = raw.subarray(0, SIV_LENGTH);
  const bytes = keystreamXor(conversationKey, iv, raw.subarray(SIV_LENGTH));
  if (!bytesEqual(iv, siv(conversationKey, ctx.conversationId, ctx.messageId, bytes))) {
    throw new CryptoError('AUTHENTICATION_FAILED', 'reaction token does not authenticate under this key and message');
  }
  return bytesToUtf8(bytes);
}
