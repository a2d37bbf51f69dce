/**
 * `Buffer.byteLength(JSON.stringify(value))`, counted without building the JSON text: the size checks of
 * every socket event (the payload) and every send (the envelope) serialized a group message's 50
 * wrapped keys twice per send only to measure them, which was a tenth of a group send's allocations.
 *
 * Counted here: null, booleans, numbers, strings, arrays, and objects without a `toJSON` method (plain
 * objects and class instances alike: JSON.stringify reads their own enumerable string keys in
 * `Object.keys` order, skips undefined, functions and symbols, writes them as `null` in arrays).
 * Anything else (a `toJSON` such as a Date's or a Buffer's, boxed primitives, bigints, nesting deeper
 * than MAX_DEPTH, which may be a cycle) is measured by JSON.stringify itself, so the answer, and what
 * is thrown, is exactly its own. `undefined` at the top (JSON.stringify's `undefined`) is -1.
 */
const MAX_DEPTH = 64;

/** Not worth measuring here: handed to JSON.stringify. */
const FALLBACK = -2;

/** Characters JSON.stringify writes as themselves in one UTF-8 byte: printable ASCII except `"` and `\`, plus DEL. */
const NEEDS_SCAN = /[^\x20\x21\x23-\x5b\x5d-\x7f]/;

export function jsonByteLength(value: unknown): number {
  const n = measure(value, 0, true);
  if (n !== FALLBACK) return n;
  const s = JSON.stringify(value);
  return s === undefined ? -1 : Buffer.byteLength(s);
}

/** JSON.stringify's quoting: 2 quotes, 2 bytes per short escape, 6 per \u escape (controls, lone surrogates), UTF-8 otherwise. */
export function jsonStringBytes(s: string): number {
  if (!NEEDS_SCAN.test(s)) return s.length + 2;
  let n = 2;
  const len = s.length;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20) n += c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 2 : 6;
    else if (c === 0x22 || c === 0x5c) n += 2;
    else if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < len ? s.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        n += 4;
        i++;
      } else n += 6;
    } else if (c >= 0xdc00 && c <= 0xdfff) n += 6;
    else n += 3;
  }
  return n;
}

/**
 * Whether `jsonByteLength(value) <= limit`, mostly without reading a string's characters: a size
 * check only needs the yes, and nearly every value is far below its limit. A first pass counts
 * each string (value or key) at its most, 6 bytes per UTF-16 unit (a \u escape; UTF-8 takes at
 * most 3, a surrogate pair 4 for two) plus its quotes; only when that exceeds `limit`, or when the
 * value is one jsonByteLength hands to JSON.stringify, is the exact length counted. So the answer
 * is exactly `jsonByteLength(value) <= limit`, and throws what it throws. (`undefined`: -1 <= limit.)
 */
export function jsonByteLengthAtMost(value: unknown, limit: number): boolean {
  const bound = measure(value, 0, false);
  if (bound !== FALLBACK && bound <= limit) return true;
  return jsonByteLength(value) <= limit;
}

/** Most bytes JSON.stringify can write for a string of `length` UTF-16 units: 6 each (\u escapes), and the quotes. */
const mostStringBytes = (length: number): number => 6 * length + 2;

/**
 * -1: not written (undefined, functions, symbols: skipped in objects, `null` in arrays). `exact`
 * false: strings are counted at their most (mostStringBytes), so the answer is an upper bound.
 */
function measure(v: unknown, depth: number, exact: boolean): number {
  switch (typeof v) {
    case 'string':
      return exact ? jsonStringBytes(v) : mostStringBytes(v.length);
    case 'number':
      return Number.isFinite(v) ? String(v).length : 4;
    case 'boolean':
      return v ? 4 : 5;
    case 'undefined':
    case 'function':
    case 'symbol':
      return -1;
    case 'object':
      break;
    default:
      return FALLBACK; // bigint: JSON.stringify throws
  }
  if (v === null) return 4;
  if (depth >= MAX_DEPTH) return FALLBACK;
  if (Array.isArray(v)) {
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return FALLBACK;
    const len = v.length;
    let n = 2 + (len > 0 ? len - 1 : 0);
    for (let i = 0; i < len; i++) {
      const m = measure(v[i], depth + 1, exact);
      if (m === FALLBACK) return FALLBACK;
      n += m === -1 ? 4 : m;
    }
    return n;
  }
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return FALLBACK;
  if (v instanceof Number || v instanceof String || v instanceof Boolean || v instanceof BigInt) return FALLBACK;
  let n = 2;
  let first = true;
  const o = v as Record<string, unknown>;
  for (const key in o) {
    if (!Object.prototype.hasOwnProperty.call(o, key)) continue;
    const m = measure(o[key], depth + 1, exact);
    if (m === FALLBACK) return FALLBACK;
    if (m === -1) continue;
    n += (first ? 0 : 1) + (exact ? jsonStringBytes(key) : mostStringBytes(key.length)) + 1 + m;
    first = false;
  }
  return n;
}
