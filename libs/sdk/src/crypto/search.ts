/**
 * Blind-index search tokens.
 *
 *   words  = normalizeSearchText(text)
 *   k      = HKDF-SHA256(conversationKey, salt = none, info = "search-v1", 32)
 *   token  = hex(HMAC-SHA256(k, utf8(word))[0..16])
 *
 * The server stores tokens next to the encrypted message and matches query
 * tokens by equality. Leakage (documented in docs/e2e-crypto.md): equal words
 * in one conversation give equal tokens, so the server sees word repetition
 * and can do frequency analysis; tokens do not link across conversation keys.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { LABELS } from './constants';
import { deriveConversationSubkey } from './conversation-key';
import { bytesToHex, utf8ToBytes, wipe } from './encoding';
import { CryptoError } from './errors';

/** Bytes of HMAC output kept per token (16 bytes = 32 hex chars). */
export const SEARCH_TOKEN_BYTES = 16;
export const MIN_SEARCH_WORD_LENGTH = 2;

/**
 * Normalisation shared by indexing and querying:
 * NFKC → lower case (Greek final sigma folded to σ) → strip diacritics (NFD, drop non-spacing/enclosing marks,
 * NFC) → apostrophes removed (don't → dont), every other non letter/number
 * character (punctuation, symbols, emoji) becomes a separator → split on
 * whitespace → drop words shorter than 2 code points → dedupe (first occurrence
 * order kept).
 */
export function normalizeSearchText(text: string): string[] {
  if (typeof text !== 'string') throw new CryptoError('INVALID_INPUT', 'search text must be a string');
  const cleaned = text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\u03C2/gu, '\u03C3') // Greek final sigma ς → σ (lower-casing is context dependent)
    .normalize('NFD')
    .replace(/[\p{Mn}\p{Me}]/gu, '')
    .normalize('NFC')
    .replace(/['\u2019\u02BC]/gu, '')
    .replace(/[^\p{L}\p{N}\p{M}\s]+/gu, ' ');
  const seen = new Set<string>();
  const words: string[] = [];
  for (const word of cleaned.split(/\s+/u)) {
    if (Array.from(word).length < MIN_SEARCH_WORD_LENGTH || seen.has(word)) continue;
    seen.add(word);
    words.push(word);
  }
  return words;
}

/** Tokens for indexing a message or for a query (same function for both). */
export function searchTokens(text: string, conversationKey: Uint8Array): string[] {
  const words = normalizeSearchText(text);
  const key = deriveConversationSubkey(conversationKey, LABELS.search);
  try {
    return words.map((w) => bytesToHex(hmac(sha256, key, utf8ToBytes(w)).subarray(0, SEARCH_TOKEN_BYTES)));
  } finally {
    wipe(key);
  }
}
