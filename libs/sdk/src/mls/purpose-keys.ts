/**
 * Previews, reactions and search tokens of E2E v2 (docs/e2e-crypto.md, "v2: previews, reactions,
 * search"). v1 keyed them with the conversation key, wrapped to every member device; v2 keys them with
 * the epoch's history key (MLS-Exporter("chat/history/v1", group id, 32)), which every device of the
 * epoch has, the key backup and history bundles carry, and a removed member never gets for later epochs.
 *
 *   k_purpose = HKDF-SHA256(ikm = history key of (group, epoch), salt = none, info = label, 32)
 *
 * The constructions are v1's (libs/sdk/src/crypto) run with these keys:
 * - preview:  "p2.<group hex>.<epoch>.<base64(XChaCha20-Poly1305(k_preview, text, ad))>",
 *             ad = canon["chat/preview/v2", tenant, conversation, group, epoch]: it names its epoch.
 * - reaction: v1's SIV-style deterministic token under k_reaction of the reacted message's epoch,
 *             prefix "r2" instead of "r1" (the message's envelope names the epoch).
 * - search:   v1's blind-index tokens (HMAC-SHA256 of each normalised word, 16 bytes hex) under
 *             k_search of the message's epoch: equal words match only within one epoch.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { open, seal } from '../crypto/aead';
import { encodeFields } from '../crypto/canonical';
import { base64ToBytes, bytesToBase64, bytesToUtf8, utf8ToBytes, wipe } from '../crypto/encoding';
import { CryptoError } from '../crypto/errors';
import { REACTION_TOKEN_PREFIX, decryptReaction, encryptReaction, isReactionToken } from '../crypto/reaction';
import { searchTokens } from '../crypto/search';

/** HKDF info labels of the purpose keys derived from an epoch's history key. */
export const PURPOSE_LABELS = { preview: 'chat/preview/v2', reaction: 'chat/reaction/v2', search: 'chat/search/v2' } as const;
export type EpochPurpose = keyof typeof PURPOSE_LABELS;

export const PREVIEW_V2_PREFIX = 'p2.';
export const REACTION_V2_PREFIX = 'r2';
/** Characters of text kept in a preview (as v1). */
export const PREVIEW_V2_CHARS = 120;
/** The server's preview field: at most 4,096 characters (libs/chat message.dto.ts). */
const MAX_PREVIEW_LENGTH = 4096;
const PREVIEW_RE = /^p2\.([0-9a-f]{2,128})\.(\d{1,16})\.([A-Za-z0-9+/]+={0,2})$/;

export function derivePurposeKey(historyKey: Uint8Array, purpose: EpochPurpose): Uint8Array {
  if (!(historyKey instanceof Uint8Array) || historyKey.length !== 32) throw new CryptoError('INVALID_INPUT', 'an epoch history key is 32 bytes');
  return hkdf(sha256, historyKey, undefined, utf8ToBytes(PURPOSE_LABELS[purpose]), 32);
}

function withKey<T>(historyKey: Uint8Array, purpose: EpochPurpose, fn: (key: Uint8Array) => T): T {
  const key = derivePurposeKey(historyKey, purpose);
  try {
    return fn(key);
  } finally {
    wipe(key);
  }
}

// ------------------------------------------------------------------ previews

export interface PreviewV2Context {
  tenantId: string;
  conversationId: string;
}

export interface PreviewV2Ref {
  /** Hex MLS group id. */
  groupId: string;
  epoch: bigint;
}

function previewAd(ctx: PreviewV2Context, ref: PreviewV2Ref): Uint8Array {
  return encodeFields([PURPOSE_LABELS.preview, ctx.tenantId, ctx.conversationId, ref.groupId, String(ref.epoch)]);
}

/** The encrypted preview of `text` (its first 120 characters) under the epoch's key. */
export function encryptPreviewV2(text: string, historyKey: Uint8Array, ctx: PreviewV2Context & PreviewV2Ref): string {
  if (typeof text !== 'string') throw new CryptoError('INVALID_INPUT', 'preview text must be a string');
  const sealed = withKey(historyKey, 'preview', (k) => seal(k, utf8ToBytes(Array.from(text).slice(0, PREVIEW_V2_CHARS).join('')), previewAd(ctx, ctx)));
  const out = `${PREVIEW_V2_PREFIX}${ctx.groupId}.${ctx.epoch}.${bytesToBase64(sealed)}`;
  if (out.length > MAX_PREVIEW_LENGTH) throw new CryptoError('INVALID_INPUT', 'preview too long');
  return out;
}

/** The (group, epoch) a v2 preview names, or null for anything else (a v1 preview is plain base64). */
export function parsePreviewV2(value: string): (PreviewV2Ref & { sealed: string }) | null {
  const m = typeof value === 'string' ? PREVIEW_RE.exec(value) : null;
  return m ? { groupId: m[1]!, epoch: BigInt(m[2]!), sealed: m[3]! } : null;
}

/** Opens a v2 preview with the history key of the epoch it names. AUTHENTICATION_FAILED if altered or moved. */
export function decryptPreviewV2(value: string, historyKey: Uint8Array, ctx: PreviewV2Context): string {
  const ref = parsePreviewV2(value);
  if (!ref) throw new CryptoError('INVALID_INPUT', 'not a v2 preview');
  const sealed = base64ToBytes(ref.sealed, 'encrypted preview');
  return bytesToUtf8(withKey(historyKey, 'preview', (k) => open(k, sealed, previewAd(ctx, ref))));
}

// ------------------------------------------------------------------ reactions

export interface ReactionV2Context {
  conversationId: string;
  messageId: string;
}

/** v1's deterministic reaction token, keyed by the reacted message's epoch: equal emoji on one message stay equal. */
export function encryptReactionV2(emoji: string, historyKey: Uint8Array, ctx: ReactionV2Context): string {
  return REACTION_V2_PREFIX + withKey(historyKey, 'reaction', (k) => encryptReaction(emoji, k, ctx)).slice(REACTION_TOKEN_PREFIX.length);
}

export function isReactionV2Token(value: string): boolean {
  return typeof value === 'string' && value.startsWith(REACTION_V2_PREFIX) && isReactionToken(REACTION_TOKEN_PREFIX + value.slice(REACTION_V2_PREFIX.length));
}

/** The emoji of a v2 token. AUTHENTICATION_FAILED for a token of another epoch, message or conversation. */
export function decryptReactionV2(token: string, historyKey: Uint8Array, ctx: ReactionV2Context): string {
  if (!isReactionV2Token(token)) throw new CryptoError('INVALID_INPUT', 'not a v2 reaction token');
  return withKey(historyKey, 'reaction', (k) => decryptReaction(REACTION_TOKEN_PREFIX + token.slice(REACTION_V2_PREFIX.length), k, ctx));
}

// ------------------------------------------------------------------ search

/** Blind-index tokens of `text` under the epoch's search key (indexing a message and querying alike). */
export function searchTokensV2(text: string, historyKey: Uint8Array): string[] {
  return withKey(historyKey, 'search', (k) => searchTokens(text, k));
}
