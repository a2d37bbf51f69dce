/**
 * Per-recipient key wrapping (shared by messages, files and conversation keys).
 *
 * For one fresh ephemeral X25519 key pair (e, E) and each recipient device
 * public key R (user u, device d, key version v):
 *
 *   shared = X25519(e, R)
 *   kek    = HKDF-SHA256(ikm = shared, salt = E || R,
 *                        info = canon[ALGORITHM, "wrap-key", u, d, v], 32)
 *   wrapped_key = nonce(24) || XChaCha20-Poly1305(kek, nonce,
 *                        ad = canon[ALGORITHM, "wrap-key-ad", context]).encrypt(key)
 *
 * The ephemeral secret is wiped after use. The `context` lets callers bind a
 * wrap to what it protects (messages bind conversation, sender and type).
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { open, seal } from './aead';
import { assertU32, encodeFields } from './canonical';
import { ALGORITHM, KEY_LENGTH, LABELS, WRAPPED_KEY_LENGTH, X25519_KEY_LENGTH } from './constants';
import { base64ToFixedBytes, bytesToBase64, concatBytes, utf8ToBytes, wipe } from './encoding';
import { CryptoError } from './errors';
import { assertNonEmptyString, generateX25519KeyPair, keyBytes, type DeviceKeys } from './identity';
import { asKeyring, findKeys, type DeviceKeyring } from './keyring';

/** A recipient device as known from its published public key bundle. */
export interface RecipientPublicKey {
  /** Recipient's external user id. */
  user_id: string;
  device_id: string;
  key_version: number;
  /** X25519 public key, base64 or raw bytes. */
  public_key: string | Uint8Array;
}

/** One entry of `encrypted_key` in the envelope. */
export interface WrappedKey {
  user_id: string;
  device_id: string;
  key_version: number;
  /** base64(nonce || ciphertext || tag) */
  wrapped_key: string;
}

export interface WrappedKeySet {
  /** base64 X25519 ephemeral public key shared by all entries. */
  ephemeral_public_key: string;
  encrypted_key: WrappedKey[];
}

export interface WrapKeyInput {
  /** The 32-byte symmetric key to distribute. */
  key: Uint8Array;
  recipients: readonly RecipientPublicKey[];
  /** Data the wrap is bound to; the same value is required to unwrap. */
  context?: string | Uint8Array;
}

export interface UnwrapKeyInput {
  ephemeral_public_key: string;
  encrypted_key: readonly WrappedKey[];
  myUserId: string;
  /** One key version, or a keyring with several. */
  myDevice: DeviceKeys | DeviceKeyring;
  context?: string | Uint8Array;
}

function contextBytes(context: string | Uint8Array | undefined): Uint8Array {
  if (context === undefined) return new Uint8Array(0);
  return typeof context === 'string' ? utf8ToBytes(context) : context;
}

function wrapAd(context: string | Uint8Array | undefined): Uint8Array {
  return encodeFields([ALGORITHM, `${LABELS.wrapKey}-ad`, contextBytes(context)]);
}

function deriveKek(
  shared: Uint8Array,
  ephemeralPublic: Uint8Array,
  recipientPublic: Uint8Array,
  userId: string,
  deviceId: string,
  keyVersion: number,
): Uint8Array {
  const info = encodeFields([ALGORITHM, LABELS.wrapKey, userId, deviceId, keyVersion]);
  return hkdf(sha256, shared, concatBytes(ephemeralPublic, recipientPublic), info, KEY_LENGTH);
}

function recipientKey(r: { user_id: string; device_id: string; key_version: number }): string {
  return `${r.user_id}\u0000${r.device_id}\u0000${r.key_version}`;
}

export function wrapKeyForRecipients(input: WrapKeyInput): WrappedKeySet {
  const { key, recipients } = input;
  if (!(key instanceof Uint8Array) || key.length !== KEY_LENGTH) {
    throw new CryptoError('INVALID_INPUT', `key must be ${KEY_LENGTH} bytes`);
  }
  if (!Array.isArray(recipients) || recipients.length === 0) {
    throw new CryptoError('INVALID_INPUT', 'at least one recipient is required');
  }
  const seen = new Set<string>();
  const parsed = recipients.map((r) => {
    assertNonEmptyString(r.user_id, 'recipient user_id');
    assertNonEmptyString(r.device_id, 'recipient device_id');
    assertU32(r.key_version, 'recipient key_version');
    const id = recipientKey(r);
    if (seen.has(id)) {
      throw new CryptoError('INVALID_INPUT', `duplicate recipient ${r.user_id}/${r.device_id}/v${r.key_version}`);
    }
    seen.add(id);
    return { ...r, publicKey: keyBytes(r.public_key, X25519_KEY_LENGTH, 'recipient public_key') };
  });

  const ephemeral = generateX25519KeyPair();
  const ad = wrapAd(input.context);
  try {
    const encrypted_key = parsed.map((r): WrappedKey => {
      let shared: Uint8Array;
      try {
        shared = x25519.getSharedSecret(ephemeral.secretKey, r.publicKey);
      } catch {
        throw new CryptoError('INVALID_INPUT', `recipient ${r.user_id}/${r.device_id} has an invalid X25519 public key`);
      }
      const kek = deriveKek(shared, ephemeral.publicKey, r.publicKey, r.user_id, r.device_id, r.key_version);
      const wrapped = seal(kek, key, ad);
      wipe(shared, kek);
      return { user_id: r.user_id, device_id: r.device_id, key_version: r.key_version, wrapped_key: bytesToBase64(wrapped) };
    });
    return { ephemeral_public_key: bytesToBase64(ephemeral.publicKey), encrypted_key };
  } finally {
    wipe(ephemeral.secretKey);
  }
}

/**
 * Recover the key wrapped for this user's device. Tries every entry addressed to
 * (myUserId, device_id) whose key_version the keyring still holds.
 *
 * @throws CryptoError NO_WRAPPED_KEY | UNKNOWN_KEY_VERSION | AUTHENTICATION_FAILED | INVALID_INPUT
 */
export function unwrapKey(input: UnwrapKeyInput): Uint8Array {
  const keyring = asKeyring(input.myDevice);
  assertNonEmptyString(input.myUserId, 'myUserId');
  if (!Array.isArray(input.encrypted_key)) {
    throw new CryptoError('INVALID_INPUT', 'encrypted_key must be an array');
  }
  const mine = input.encrypted_key.filter(
    (e) => e !== null && typeof e === 'object' && e.user_id === input.myUserId && e.device_id === keyring.device_id,
  );
  if (mine.length === 0) {
    throw new CryptoError('NO_WRAPPED_KEY', 'no wrapped key for this device: it was not a recipient');
  }
  const usable = mine
    .map((entry) => ({ entry, keys: findKeys(keyring, entry.key_version) }))
    .filter((c): c is { entry: WrappedKey; keys: DeviceKeys } => c.keys !== undefined);
  if (usable.length === 0) {
    throw new CryptoError(
      'UNKNOWN_KEY_VERSION',
      `wrapped for key version(s) ${mine.map((e) => e.key_version).join(', ')} which this device no longer holds`,
    );
  }
  const ephemeralPublic = base64ToFixedBytes(input.ephemeral_public_key, X25519_KEY_LENGTH, 'ephemeral_public_key');
  const ad = wrapAd(input.context);
  for (const { entry, keys } of usable) {
    const wrapped = base64ToFixedBytes(entry.wrapped_key, WRAPPED_KEY_LENGTH, 'wrapped_key');
    let shared: Uint8Array;
    try {
      shared = x25519.getSharedSecret(keys.agreement.secretKey, ephemeralPublic);
    } catch {
      throw new CryptoError('AUTHENTICATION_FAILED', 'invalid ephemeral public key');
    }
    const kek = deriveKek(shared, ephemeralPublic, keys.agreement.publicKey, entry.user_id, entry.device_id, entry.key_version);
    try {
      return open(kek, wrapped, ad);
    } catch (err) {
      if (!(err instanceof CryptoError) || err.code !== 'AUTHENTICATION_FAILED') throw err;
    } finally {
      wipe(shared, kek);
    }
  }
  throw new CryptoError('AUTHENTICATION_FAILED', 'wrapped key could not be authenticated');
}
