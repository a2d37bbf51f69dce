import { LRUCache } from 'lru-cache';

/** A parsed JSON value that callers may read but not change (the memo shares it between them). */
export type DeepReadonly<T> = T extends ReadonlyArray<infer U> ? ReadonlyArray<DeepReadonly<U>> : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** Freezes a JSON value and everything in it: a caller that writes to a shared value throws (strict mode) instead of changing it for everyone. */
export function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value as DeepReadonly<T>;
}

export interface ParsedMemoLimits {
  /** Most entries kept. */
  maxEntries: number;
  /** Most characters of raw JSON kept over all entries (the parsed values take a few times that again). */
  maxTotalChars: number;
  /** A raw text longer than this is parsed on every read, never kept. */
  maxEntryChars: number;
}

/**
 * Per entry: ~7.5 K characters for a 50-member conversation view (its parse takes ~9 KB of heap), ~0.3 K
 * for a user's device keys. 4 Mi characters hold ~550 such views: some 4 MB of text (one byte a
 * character for ASCII) and ~5 MB of parsed values; a conversation of a few thousand members still fits
 * one entry.
 */
export const PARSED_MEMO_LIMITS: ParsedMemoLimits = { maxEntries: 10_000, maxTotalChars: 4 * 1024 * 1024, maxEntryChars: 512 * 1024 };

interface Parsed {
  raw: string;
  value: unknown;
}

/**
 * The last parse of each cache key, reused while Redis answers the very same text: a send reads its
 * conversation's view (and every member's device keys) from Redis, and parsing them again was a few %
 * of a group send's CPU. Comparing the raw text with the one parsed last is a length check and a
 * memcmp; the Redis read still happens every time (it is the cross-node truth, and the generation rule
 * of CacheService acts on it), so this never answers anything Redis did not just say: the same text
 * parses to the same value. Values are deep-frozen, since every caller of a key shares one object;
 * the freeze costs about 1.5x the parse (Node 24, 50-member view: parse ~40 µs, freeze ~60 µs, a hit
 * under 1 µs), paid only when the text changed.
 */
export class ParsedMemo {
  // lru-cache (isaacs'): bounded by entries and by total size with per-entry size limits, and it keeps
  // the keys read most recently (every send re-reads its hot conversations), which a plain Map would
  // need its own eviction bookkeeping for.
  private readonly entries: LRUCache<string, Parsed>;
  private readonly maxEntryChars: number;

  constructor(limits: ParsedMemoLimits = PARSED_MEMO_LIMITS) {
    this.maxEntryChars = limits.maxEntryChars;
    this.entries = new LRUCache<string, Parsed>({
      max: limits.maxEntries,
      maxSize: limits.maxTotalChars,
      maxEntrySize: limits.maxEntryChars,
      // lru-cache wants sizes of at least 1; an empty text is not JSON anyway.
      sizeCalculation: (p) => Math.max(1, p.raw.length),
    });
  }

  /** JSON.parse(raw), frozen; the same object as last time when `key` last parsed this very text. */
  parse<T>(key: string, raw: string): DeepReadonly<T> {
    const memo = this.entries.get(key);
    if (memo && memo.raw === raw) return memo.value as DeepReadonly<T>;
    const value = deepFreeze(JSON.parse(raw) as T);
    if (raw.length <= this.maxEntryChars) this.entries.set(key, { raw, value });
    else if (memo) this.entries.delete(key);
    return value;
  }

  /** Entries and characters kept (for tests and diagnostics). */
  get size(): { entries: number; chars: number } {
    return { entries: this.entries.size, chars: this.entries.calculatedSize };
  }
}
