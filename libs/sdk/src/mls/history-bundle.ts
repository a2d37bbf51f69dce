/**
 * History bundles (E2E v2, `shared` history visibility): when a member device adds someone to a
 * conversation (or sees them join), it encrypts the earlier epoch keys it holds under a key derived
 * from the history key of the epoch the new member entered, so that every device in the group at that
 * epoch, the new member's included, can open it, and the server cannot.
 *
 *   bundleKey  = HKDF-SHA256(epochKey(epoch), salt = none, info = "chat/history-bundle/v1")
 *   plaintext  = u32be(n) || n × (u64be(epoch) || u8(keyLength) || key)
 *   ciphertext = nonce(24) || XChaCha20-Poly1305(bundleKey, nonce, plaintext,
 *                  AD = canon["chat/history-bundle/v1", tenant, conversation, group, epoch])
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { open, seal } from '../crypto/aead';
import { encodeFields } from '../crypto/canonical';
import { base64ToBytes, bytesToBase64, utf8ToBytes, wipe } from '../crypto/encoding';
import { CryptoError } from '../crypto/errors';
import type { EpochKeyEntry } from './epoch-keys';

const LABEL = 'chat/history-bundle/v1';
/** Epochs one bundle carries at most (the server bounds the bytes too). */
export const MAX_BUNDLE_EPOCHS = 5000;

export interface HistoryBundleContext {
  tenantId: string;
  conversationId: string;
  /** Hex MLS group id. */
  groupId: string;
  /** The epoch whose history key encrypts the bundle: the one the new member joined at. */
  epoch: bigint;
}

function bundleKey(epochKey: Uint8Array): Uint8Array {
  if (!(epochKey instanceof Uint8Array) || epochKey.length < 16) throw new CryptoError('INVALID_INPUT', 'epoch key must be at least 16 bytes');
  return hkdf(sha256, epochKey, undefined, utf8ToBytes(LABEL), 32);
}

function ad(ctx: HistoryBundleContext): Uint8Array {
  return encodeFields([LABEL, ctx.tenantId, ctx.conversationId, ctx.groupId, ctx.epoch.toString()]);
}

/** Encrypts the keys of epochs before `ctx.epoch` of this group (others are left out) under that epoch's key; base64. */
export function sealHistoryBundle(ctx: HistoryBundleContext, epochKey: Uint8Array, keys: EpochKeyEntry[]): string {
  const earlier = keys.filter((k) => k.groupId === ctx.groupId && k.epoch < ctx.epoch).sort((a, b) => (a.epoch < b.epoch ? -1 : 1));
  if (earlier.length > MAX_BUNDLE_EPOCHS) throw new CryptoError('INVALID_INPUT', `a bundle carries at most ${MAX_BUNDLE_EPOCHS} epochs`);
  const size = 4 + earlier.reduce((n, k) => n + 9 + k.key.length, 0);
  const plain = new Uint8Array(size);
  const view = new DataView(plain.buffer);
  view.setUint32(0, earlier.length);
  let o = 4;
  for (const k of earlier) {
    if (k.key.length === 0 || k.key.length > 255) throw new CryptoError('INVALID_INPUT', 'epoch keys are 1-255 bytes');
    view.setBigUint64(o, k.epoch);
    plain[o + 8] = k.key.length;
    plain.set(k.key, o + 9);
    o += 9 + k.key.length;
  }
  const key = bundleKey(epochKey);
  try {
    return bytesToBase64(seal(key, plain, ad(ctx)));
  } finally {
    wipe(key, plain);
  }
}

/** Opens a bundle with the history key of `ctx.epoch`; AUTHENTICATION_FAILED when it was altered or is for another context. */
export function openHistoryBundle(ctx: HistoryBundleContext, epochKey: Uint8Array, ciphertext: string): EpochKeyEntry[] {
  const key = bundleKey(epochKey);
  let plain: Uint8Array;
  try {
    plain = open(key, base64ToBytes(ciphertext, 'bundle'), ad(ctx));
  } finally {
    wipe(key);
  }
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  const bad = () => new CryptoError('INVALID_INPUT', 'malformed history bundle');
  if (plain.length < 4) throw bad();
  const n = view.getUint32(0);
  const out: EpochKeyEntry[] = [];
  let o = 4;
  for (let i = 0; i < n; i++) {
    if (o + 9 > plain.length) throw bad();
    const epoch = view.getBigUint64(o);
    const len = plain[o + 8]!;
    if (len === 0 || o + 9 + len > plain.length || epoch >= ctx.epoch) throw bad();
    out.push({ groupId: ctx.groupId, epoch, key: plain.slice(o + 9, o + 9 + len) });
    o += 9 + len;
  }
  if (o !== plain.length) throw bad();
  wipe(plain);
  return out;
}
