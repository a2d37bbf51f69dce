/**
 * Unambiguous ("canonical") byte encoding of a list of fields, used for
 * associated data, HKDF info strings and the signed byte string.
 *
 * Each field is `tag (1 byte) || body`:
 *   0x01 string : u32be(byteLength) || utf8 bytes
 *   0x02 u32    : u32be(value)
 *   0x03 bytes  : u32be(length) || bytes
 * Length prefixes make concatenation injective: two different field lists can
 * never produce the same bytes.
 */
import { MAX_KEY_VERSION } from './constants';
import { concatBytes, utf8ToBytes } from './encoding';
import { CryptoError } from './errors';

export type CanonicalField = string | number | Uint8Array;

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, false);
  return out;
}

export function assertU32(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_KEY_VERSION) {
    throw new CryptoError('INVALID_INPUT', `${what} must be an integer in [0, ${MAX_KEY_VERSION}]`);
  }
}

export function encodeFields(fields: readonly CanonicalField[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const field of fields) {
    if (typeof field === 'string') {
      const bytes = utf8ToBytes(field);
      parts.push(Uint8Array.of(0x01), u32(bytes.length), bytes);
    } else if (typeof field === 'number') {
      assertU32(field, 'numeric field');
      parts.push(Uint8Array.of(0x02), u32(field));
    } else {
      parts.push(Uint8Array.of(0x03), u32(field.length), field);
    }
  }
  return concatBytes(...parts);
}

/** Lexicographic byte comparison, for sorting canonical encodings. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}
