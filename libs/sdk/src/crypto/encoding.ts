/**
 * Byte/string helpers that work identically in Node and browsers
 * (no Buffer, no node:* modules).
 */
import { CryptoError } from './errors';

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_LOOKUP: Int16Array = (() => {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < B64_ALPHABET.length; i++) table[B64_ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/** Standard base64 (RFC 4648 §4) with padding. */
export function bytesToBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out +=
      B64_ALPHABET[(n >> 18) & 63]! +
      B64_ALPHABET[(n >> 12) & 63]! +
      B64_ALPHABET[(n >> 6) & 63]! +
      B64_ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += B64_ALPHABET[(n >> 18) & 63]! + B64_ALPHABET[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out +=
      B64_ALPHABET[(n >> 18) & 63]! + B64_ALPHABET[(n >> 12) & 63]! + B64_ALPHABET[(n >> 6) & 63]! + '=';
  }
  return out;
}

/**
 * Strict standard base64 decoder: padding required, no whitespace, no
 * base64url characters, and non-canonical encodings (non-zero trailing bits)
 * rejected, so every byte string has exactly one accepted encoding.
 */
export function base64ToBytes(b64: string, what = 'base64 value'): Uint8Array {
  if (typeof b64 !== 'string' || b64.length % 4 !== 0) {
    throw new CryptoError('INVALID_INPUT', `${what} is not valid base64`);
  }
  const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  const outLen = (b64.length / 4) * 3 - pad;
  const out = new Uint8Array(outLen);
  const value = (idx: number): number => {
    const code = b64.charCodeAt(idx);
    const v = code < 128 ? B64_LOOKUP[code]! : -1;
    if (v < 0) throw new CryptoError('INVALID_INPUT', `${what} is not valid base64`);
    return v;
  };
  let o = 0;
  const dataLen = b64.length - pad;
  let i = 0;
  for (; i + 4 <= dataLen; i += 4) {
    const n = (value(i) << 18) | (value(i + 1) << 12) | (value(i + 2) << 6) | value(i + 3);
    out[o++] = (n >> 16) & 255;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  if (pad === 2) {
    const n = (value(i) << 18) | (value(i + 1) << 12);
    if (n & 0xffff) throw new CryptoError('INVALID_INPUT', `${what} is not canonical base64`);
    out[o++] = (n >> 16) & 255;
  } else if (pad === 1) {
    const n = (value(i) << 18) | (value(i + 1) << 12) | (value(i + 2) << 6);
    if (n & 0xff) throw new CryptoError('INVALID_INPUT', `${what} is not canonical base64`);
    out[o++] = (n >> 16) & 255;
    out[o++] = (n >> 8) & 255;
  }
  return out;
}

/** Decode base64 and require an exact byte length. */
export function base64ToFixedBytes(b64: string, length: number, what: string): Uint8Array {
  const bytes = base64ToBytes(b64, what);
  if (bytes.length !== length) {
    throw new CryptoError('INVALID_INPUT', `${what} must be ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8ToBytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Strict UTF-8 decode (throws CryptoError on invalid sequences). */
export function bytesToUtf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new CryptoError('INVALID_INPUT', 'bytes are not valid UTF-8');
  }
}

export function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += bytes[i]!.toString(16).padStart(2, '0');
  return out;
}

export function hexToBytes(hex: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new CryptoError('INVALID_INPUT', 'value is not valid hex');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Constant-time equality for equal-length inputs (length itself is not secret). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Best-effort wipe of secret material held in JS memory. */
export function wipe(...arrays: Array<Uint8Array | undefined>): void {
  for (const a of arrays) a?.fill(0);
}
