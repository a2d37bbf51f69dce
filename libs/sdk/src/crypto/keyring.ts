/**
 * Device keyring: all key versions a device still holds.
 *
 * Rotation creates a new key version (new X25519 + Ed25519 pairs) and makes it
 * current; senders wrap new messages for the current version (once the new
 * public bundle is published) while the old versions stay in the keyring so
 * earlier messages remain decryptable. Removing an old version is what
 * actually gives forward secrecy against a later compromise of this device.
 *
 * Keyrings are immutable values: every helper returns a new keyring.
 */
import { assertU32 } from './canonical';
import { ED25519_SECRET_KEY_LENGTH, X25519_KEY_LENGTH } from './constants';
import { base64ToFixedBytes, bytesToBase64 } from './encoding';
import { CryptoError } from './errors';
import {
  assertNonEmptyString,
  deviceKeysFromSecrets,
  generateDeviceKeys,
  toPublicKeyBundle,
  type DeviceKeys,
  type PublicKeyBundle,
} from './identity';

export interface DeviceKeyring {
  device_id: string;
  current_version: number;
  /** Sorted by key_version ascending; versions are unique. */
  keys: readonly DeviceKeys[];
}

/** JSON-safe form of a keyring. Contains SECRET keys: store it encrypted / in a secure store only. */
export interface SerializedKeyring {
  device_id: string;
  current_version: number;
  keys: Array<{ key_version: number; agreement_secret_key: string; signing_secret_key?: string }>;
}

export interface KeyringOptions {
  /** Generate Ed25519 signing keys. Defaults to true. */
  withSigningKey?: boolean;
}

function build(device_id: string, current_version: number, keys: DeviceKeys[]): DeviceKeyring {
  const sorted = [...keys].sort((a, b) => a.key_version - b.key_version);
  for (let i = 0; i < sorted.length; i++) {
    const k = sorted[i]!;
    if (k.device_id !== device_id) {
      throw new CryptoError('INVALID_INPUT', 'all keys of a keyring must belong to the same device');
    }
    if (i > 0 && sorted[i - 1]!.key_version === k.key_version) {
      throw new CryptoError('INVALID_INPUT', `duplicate key_version ${k.key_version} in keyring`);
    }
  }
  if (!sorted.some((k) => k.key_version === current_version)) {
    throw new CryptoError('INVALID_INPUT', `current_version ${current_version} is not in the keyring`);
  }
  return Object.freeze({ device_id, current_version, keys: Object.freeze(sorted) });
}

/** Create a keyring with a freshly generated first key version (default version 1). */
export function createKeyring(deviceId: string, options: KeyringOptions & { keyVersion?: number } = {}): DeviceKeyring {
  const keys = generateDeviceKeys({
    deviceId,
    keyVersion: options.keyVersion ?? 1,
    withSigningKey: options.withSigningKey ?? true,
  });
  return build(deviceId, keys.key_version, [keys]);
}

/** Wrap existing keys (e.g. restored from storage) into a keyring; the highest version becomes current. */
export function keyringFromKeys(keys: readonly DeviceKeys[], currentVersion?: number): DeviceKeyring {
  const first = keys[0];
  if (!first) throw new CryptoError('INVALID_INPUT', 'a keyring needs at least one key version');
  const current = currentVersion ?? Math.max(...keys.map((k) => k.key_version));
  return build(first.device_id, current, [...keys]);
}

/**
 * Generate a new key version (max existing + 1) and make it current.
 * Publish `toPublicKeyBundle(result.keys)` so senders start using it.
 */
export function rotateKeyring(
  keyring: DeviceKeyring,
  options: KeyringOptions = {},
): { keyring: DeviceKeyring; keys: DeviceKeys } {
  const nextVersion = Math.max(...keyring.keys.map((k) => k.key_version)) + 1;
  assertU32(nextVersion, 'next key_version');
  const keys = generateDeviceKeys({
    deviceId: keyring.device_id,
    keyVersion: nextVersion,
    withSigningKey: options.withSigningKey ?? true,
  });
  return { keyring: build(keyring.device_id, nextVersion, [...keyring.keys, keys]), keys };
}

/** Keys of a given version (default: current). Throws UNKNOWN_KEY_VERSION if absent. */
export function getKeys(keyring: DeviceKeyring, version: number = keyring.current_version): DeviceKeys {
  const keys = findKeys(keyring, version);
  if (!keys) {
    throw new CryptoError('UNKNOWN_KEY_VERSION', `device ${keyring.device_id} has no key version ${version}`);
  }
  return keys;
}

export function findKeys(keyring: DeviceKeyring, version: number): DeviceKeys | undefined {
  return keyring.keys.find((k) => k.key_version === version);
}

/** Public bundle of the current key version. */
export function currentPublicBundle(keyring: DeviceKeyring): PublicKeyBundle {
  return toPublicKeyBundle(getKeys(keyring));
}

/**
 * Drop old key versions (the current one is always kept). Messages wrapped only
 * for a removed version become undecryptable on this device — that is the point.
 * The removed secret keys are wiped.
 */
export function removeKeyVersions(keyring: DeviceKeyring, versions: readonly number[]): DeviceKeyring {
  if (versions.includes(keyring.current_version)) {
    throw new CryptoError('INVALID_INPUT', 'cannot remove the current key version');
  }
  const kept: DeviceKeys[] = [];
  for (const k of keyring.keys) {
    if (versions.includes(k.key_version)) {
      k.agreement.secretKey.fill(0);
      k.signing?.secretKey.fill(0);
    } else {
      kept.push(k);
    }
  }
  return build(keyring.device_id, keyring.current_version, kept);
}

/** Serialise (secret!) keyring material to a JSON-safe object. */
export function exportKeyring(keyring: DeviceKeyring): SerializedKeyring {
  return {
    device_id: keyring.device_id,
    current_version: keyring.current_version,
    keys: keyring.keys.map((k) => {
      const entry: SerializedKeyring['keys'][number] = {
        key_version: k.key_version,
        agreement_secret_key: bytesToBase64(k.agreement.secretKey),
      };
      if (k.signing) entry.signing_secret_key = bytesToBase64(k.signing.secretKey);
      return entry;
    }),
  };
}

export function importKeyring(value: SerializedKeyring): DeviceKeyring {
  if (typeof value !== 'object' || value === null || !Array.isArray(value.keys)) {
    throw new CryptoError('INVALID_INPUT', 'serialized keyring must be an object with a keys array');
  }
  assertNonEmptyString(value.device_id, 'device_id');
  assertU32(value.current_version, 'current_version');
  const keys = value.keys.map((entry) => {
    assertU32(entry.key_version, 'key_version');
    const input: Parameters<typeof deviceKeysFromSecrets>[0] = {
      device_id: value.device_id,
      key_version: entry.key_version,
      agreementSecretKey: base64ToFixedBytes(entry.agreement_secret_key, X25519_KEY_LENGTH, 'agreement_secret_key'),
    };
    if (entry.signing_secret_key !== undefined) {
      input.signingSecretKey = base64ToFixedBytes(entry.signing_secret_key, ED25519_SECRET_KEY_LENGTH, 'signing_secret_key');
    }
    return deviceKeysFromSecrets(input);
  });
  return build(value.device_id, value.current_version, keys);
}

/** Normalise "one key version" or "a keyring" to a keyring view. */
export function asKeyring(device: DeviceKeys | DeviceKeyring): DeviceKeyring {
  if ('keys' in device) return device;
  return build(device.device_id, device.key_version, [device]);
}
