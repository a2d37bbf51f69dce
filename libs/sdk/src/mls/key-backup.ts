/**
 * Key backup (E2E v2): a user-level backup key (32 random bytes) encrypts the user's epoch keys for
 * the server to store; the backup key itself is stored only wrapped, by a recovery key (32 random
 * bytes shown to the user as text) and/or by a passphrase (scrypt). A new device, or a browser whose
 * storage was cleared, unwraps the backup key with either secret and decrypts the epoch keys.
 * Composition only: HKDF-SHA256 and scrypt from @noble/hashes, XChaCha20-Poly1305 from @noble/ciphers
 * (../crypto/aead). Every ciphertext is bound (AEAD associated data) to tenant and user, and epoch
 * key entries also to group and epoch, so the server cannot move them between users or epochs.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { open, seal } from '../crypto/aead';
import { encodeFields } from '../crypto/canonical';
import { base64ToBytes, bytesToBase64, bytesToHex, utf8ToBytes, wipe } from '../crypto/encoding';
import { CryptoError } from '../crypto/errors';
import { randomBytes } from '../crypto/random';
import type { EpochKeyEntry } from './epoch-keys';

export const BACKUP_KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const LABEL_ID = 'chat/key-backup/id/v1';
const LABEL_RECOVERY = 'chat/key-backup/recovery-wrap/v1';
const LABEL_WRAP_AD = 'chat/key-backup/wrap/v1';
const LABEL_ENTRY = 'chat/key-backup/entry/v1';

/**
 * scrypt cost of a passphrase wrap. Default N = 2^17, r = 8, p = 1 (128 MiB, OWASP's recommended
 * minimum for scrypt): about a second on a phone, and each guess costs an attacker as much. The
 * parameters are stored with the wrap and bound into its associated data; unwrapping accepts N up to
 * 2^20 (1 GiB) so a hostile server cannot make a client allocate without limit.
 */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };
const MAX_SCRYPT_N = 2 ** 20;
/** Passphrases shorter than this are refused: scrypt slows guessing, it cannot save a 4-letter word. */
export const MIN_PASSPHRASE_LENGTH = 10;

/** Tenant and user the backup belongs to (bound into every ciphertext). */
export interface BackupContext {
  tenantId: string;
  userId: string;
}

/** One wrap of the backup key, as stored by the server (all strings; nothing here opens anything without the secret). */
export type BackupKeyWrap =
  | { kind: 'recovery_key'; salt: string; wrapped_key: string }
  | { kind: 'passphrase'; salt: string; wrapped_key: string; scrypt: ScryptParams };

export function generateBackupKey(): Uint8Array {
  return randomBytes(BACKUP_KEY_LENGTH);
}

function assertKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== BACKUP_KEY_LENGTH) throw new CryptoError('INVALID_INPUT', `${what} must be ${BACKUP_KEY_LENGTH} bytes`);
}

/**
 * The backup's public id: hex(HKDF(backupKey, "chat/key-backup/id/v1")[0..16]). The server stores it
 * to tell backups apart; a client checks an unwrapped key against it. One-way: it reveals nothing usable.
 */
export function backupIdOf(backupKey: Uint8Array): string {
  assertKey(backupKey, 'backup key');
  const d = hkdf(sha256, backupKey, undefined, utf8ToBytes(LABEL_ID), 16);
  const hex = bytesToHex(d);
  wipe(d);
  return hex;
}

// ---------------------------------------------------------------------------------------------- recovery key text

// Crockford base32: no I, L, O, U; readers confuse them, so parsing maps them back.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A new recovery key: 32 random bytes, shown as 55 Crockford base32 characters (the key and a 2-byte
 * SHA-256 checksum that catches typos) in groups of five: `XXXXX-XXXXX-...`.
 */
export function generateRecoveryKey(): { key: Uint8Array; text: string } {
  const key = randomBytes(BACKUP_KEY_LENGTH);
  return { key, text: formatRecoveryKey(key) };
}

export function formatRecoveryKey(key: Uint8Array): string {
  assertKey(key, 'recovery key');
  const bytes = new Uint8Array([...key, ...sha256(key).subarray(0, 2)]);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out.match(/.{1,5}/g)!.join('-');
}

/** The key in a recovery text (case, spaces and dashes ignored; I/L read as 1, O as 0). Throws INVALID_INPUT on a typo. */
export function parseRecoveryKey(text: string): Uint8Array {
  const clean = String(text).toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
  if (clean.length !== 55) throw new CryptoError('INVALID_INPUT', 'a recovery key has 55 characters');
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) throw new CryptoError('INVALID_INPUT', 'the recovery key has a character outside its alphabet');
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  const bytes = Uint8Array.from(out.slice(0, BACKUP_KEY_LENGTH + 2));
  const key = bytes.slice(0, BACKUP_KEY_LENGTH);
  const check = sha256(key).subarray(0, 2);
  if (bytes[32] !== check[0] || bytes[33] !== check[1]) throw new CryptoError('INVALID_INPUT', 'the recovery key does not check out: a character is wrong');
  return key;
}

// ---------------------------------------------------------------------------------------------- wrapping

function wrapAd(ctx: BackupContext, backupId: string, wrap: { kind: string; salt: string; scrypt?: ScryptParams }): Uint8Array {
  const s = wrap.scrypt;
  return encodeFields([LABEL_WRAP_AD, ctx.tenantId, ctx.userId, backupId, wrap.kind, wrap.salt, s ? s.N : 0, s ? s.r : 0, s ? s.p : 0]);
}

function checkScrypt(p: ScryptParams, max = MAX_SCRYPT_N): void {
  const ok = Number.isInteger(p.N) && p.N >= 2 && p.N <= max && (p.N & (p.N - 1)) === 0 && Number.isInteger(p.r) && p.r >= 1 && p.r <= 32 && Number.isInteger(p.p) && p.p >= 1 && p.p <= 16;
  if (!ok) throw new CryptoError('INVALID_INPUT', `scrypt parameters out of range (N a power of two up to ${max}, r 1-32, p 1-16)`);
}

async function passphraseKek(passphrase: string, salt: Uint8Array, p: ScryptParams): Promise<Uint8Array> {
  // NFKC: the same passphrase typed on two keyboards gives the same bytes.
  return scryptAsync(utf8ToBytes(passphrase.normalize('NFKC')), salt, { N: p.N, r: p.r, p: p.p, dkLen: 32, maxmem: 128 * p.N * p.r * p.p + 1024 * 1024 });
}

function recoveryKek(recoveryKey: Uint8Array, salt: Uint8Array): Uint8Array {
  assertKey(recoveryKey, 'recovery key');
  return hkdf(sha256, recoveryKey, salt, utf8ToBytes(LABEL_RECOVERY), 32);
}

/** Wraps the backup key with a recovery key (HKDF-SHA256 of the recovery key with a fresh salt, then AEAD). */
export function wrapWithRecoveryKey(backupKey: Uint8Array, recoveryKey: Uint8Array, ctx: BackupContext): BackupKeyWrap {
  const salt = randomBytes(SALT_LENGTH);
  const wrap = { kind: 'recovery_key' as const, salt: bytesToBase64(salt) };
  const kek = recoveryKek(recoveryKey, salt);
  try {
    return { ...wrap, wrapped_key: bytesToBase64(seal(kek, backupKey, wrapAd(ctx, backupIdOf(backupKey), wrap))) };
  } finally {
    wipe(kek);
  }
}

/** Wraps the backup key with a passphrase (scrypt, parameters stored with the wrap). */
export async function wrapWithPassphrase(backupKey: Uint8Array, passphrase: string, ctx: BackupContext, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<BackupKeyWrap> {
  if (typeof passphrase !== 'string' || [...passphrase].length < MIN_PASSPHRASE_LENGTH) throw new CryptoError('INVALID_INPUT', `a passphrase has at least ${MIN_PASSPHRASE_LENGTH} characters`);
  checkScrypt(params);
  const salt = randomBytes(SALT_LENGTH);
  const wrap = { kind: 'passphrase' as const, salt: bytesToBase64(salt), scrypt: { N: params.N, r: params.r, p: params.p } };
  const kek = await passphraseKek(passphrase, salt, params);
  try {
    return { ...wrap, wrapped_key: bytesToBase64(seal(kek, backupKey, wrapAd(ctx, backupIdOf(backupKey), wrap))) };
  } finally {
    wipe(kek);
  }
}

export type BackupSecret = { recoveryKey: Uint8Array | string } | { passphrase: string };

/**
 * Unwraps the backup key with the user's secret, trying each wrap of the matching kind. The result
 * must match `backupId` (the id the server lists), else it is refused. Throws AUTHENTICATION_FAILED
 * when the secret is wrong (or a wrap was altered).
 */
export async function unwrapBackupKey(wraps: BackupKeyWrap[], secret: BackupSecret, ctx: BackupContext, backupId: string): Promise<Uint8Array> {
  for (const wrap of wraps) {
    let kek: Uint8Array;
    if ('recoveryKey' in secret) {
      if (wrap.kind !== 'recovery_key') continue;
      const rk = typeof secret.recoveryKey === 'string' ? parseRecoveryKey(secret.recoveryKey) : secret.recoveryKey;
      kek = recoveryKek(rk, base64ToBytes(wrap.salt, 'salt'));
    } else {
      if (wrap.kind !== 'passphrase' || !wrap.scrypt) continue;
      checkScrypt(wrap.scrypt);
      kek = await passphraseKek(secret.passphrase, base64ToBytes(wrap.salt, 'salt'), wrap.scrypt);
    }
    try {
      const key = open(kek, base64ToBytes(wrap.wrapped_key, 'wrapped_key'), wrapAd(ctx, backupId, wrap));
      if (key.length === BACKUP_KEY_LENGTH && backupIdOf(key) === backupId) return key;
    } catch (err) {
      if (!(err instanceof CryptoError) || err.code !== 'AUTHENTICATION_FAILED') throw err;
    } finally {
      wipe(kek);
    }
  }
  throw new CryptoError('AUTHENTICATION_FAILED', 'no wrap of the backup key opens with this secret');
}

// ---------------------------------------------------------------------------------------------- epoch key entries

/** An encrypted epoch key as the server stores it. */
export interface BackupEntry {
  group_id: string;
  epoch: number;
  /** base64(nonce || XChaCha20-Poly1305(entryKey, epochKey, AD)) */
  ciphertext: string;
}

function entryKey(backupKey: Uint8Array): Uint8Array {
  assertKey(backupKey, 'backup key');
  return hkdf(sha256, backupKey, undefined, utf8ToBytes(LABEL_ENTRY), 32);
}

function entryAd(ctx: BackupContext, groupId: string, epoch: bigint): Uint8Array {
  // The epoch as decimal text: MLS epochs are 64-bit.
  return encodeFields([LABEL_ENTRY, ctx.tenantId, ctx.userId, groupId, epoch.toString()]);
}

function wireEpoch(epoch: bigint): number {
  if (epoch < 0n || epoch > BigInt(Number.MAX_SAFE_INTEGER)) throw new CryptoError('INVALID_INPUT', 'epoch out of range');
  return Number(epoch);
}

export function encryptBackupEntries(backupKey: Uint8Array, ctx: BackupContext, entries: EpochKeyEntry[]): BackupEntry[] {
  const k = entryKey(backupKey);
  try {
    return entries.map((e) => ({ group_id: e.groupId, epoch: wireEpoch(e.epoch), ciphertext: bytesToBase64(seal(k, e.key, entryAd(ctx, e.groupId, e.epoch))) }));
  } finally {
    wipe(k);
  }
}

/** Decrypts entries; one that does not open (altered, or moved to another group/epoch/user) throws AUTHENTICATION_FAILED. */
export function decryptBackupEntries(backupKey: Uint8Array, ctx: BackupContext, entries: BackupEntry[]): EpochKeyEntry[] {
  const k = entryKey(backupKey);
  try {
    return entries.map((e) => ({ groupId: e.group_id, epoch: BigInt(e.epoch), key: open(k, base64ToBytes(e.ciphertext, 'ciphertext'), entryAd(ctx, e.group_id, BigInt(e.epoch))) }));
  } finally {
    wipe(k);
  }
}
