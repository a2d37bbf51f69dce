/**
 * Per-device identity keys.
 *
 * Every device owns, per key version, an X25519 key pair (key agreement, used to
 * receive wrapped content keys) and optionally an Ed25519 key pair (signing the
 * envelopes it sends). Only the public halves ever leave the device, as a
 * {@link PublicKeyBundle}.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { assertU32 } from './canonical';
import {
  ED25519_PUBLIC_KEY_LENGTH,
  ED25519_SECRET_KEY_LENGTH,
  X25519_KEY_LENGTH,
} from './constants';
import { base64ToFixedBytes, bytesToBase64 } from './encoding';
import { CryptoError } from './errors';
import { randomBytes } from './random';

export interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** Private key material of one device for one key version. Never sent to the server. */
export interface DeviceKeys {
  device_id: string;
  key_version: number;
  /** X25519 key pair for key agreement. */
  agreement: KeyPair;
  /** Ed25519 key pair for envelope signatures (optional). */
  signing?: KeyPair;
}

/** What a device publishes (and the server stores) for a key version. */
export interface PublicKeyBundle {
  device_id: string;
  key_version: number;
  /** base64 X25519 public key (32 bytes). */
  public_key: string;
  /** base64 Ed25519 public key (32 bytes). */
  signing_key?: string;
}

export interface GenerateDeviceKeysOptions {
  deviceId: string;
  /** Defaults to 1. */
  keyVersion?: number;
  /** Generate an Ed25519 signing key pair too. Defaults to true. */
  withSigningKey?: boolean;
}

export function assertNonEmptyString(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new CryptoError('INVALID_INPUT', `${what} must be a non-empty string`);
  }
}

export function generateX25519KeyPair(): KeyPair {
  const secretKey = randomBytes(X25519_KEY_LENGTH);
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

export function generateEd25519KeyPair(): KeyPair {
  const secretKey = randomBytes(ED25519_SECRET_KEY_LENGTH);
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

export function generateDeviceKeys(options: GenerateDeviceKeysOptions): DeviceKeys {
  const keyVersion = options.keyVersion ?? 1;
  assertNonEmptyString(options.deviceId, 'deviceId');
  assertU32(keyVersion, 'keyVersion');
  const keys: DeviceKeys = {
    device_id: options.deviceId,
    key_version: keyVersion,
    agreement: generateX25519KeyPair(),
  };
  if (options.withSigningKey ?? true) keys.signing = generateEd25519KeyPair();
  return keys;
}

/** Rebuild a {@link DeviceKeys} from stored secret keys (public keys are recomputed). */
export function deviceKeysFromSecrets(input: {
  device_id: string;
  key_version: number;
  agreementSecretKey: Uint8Array;
  signingSecretKey?: Uint8Array;
}): DeviceKeys {
  assertNonEmptyString(input.device_id, 'device_id');
  assertU32(input.key_version, 'key_version');
  if (!(input.agreementSecretKey instanceof Uint8Array) || input.agreementSecretKey.length !== X25519_KEY_LENGTH) {
    throw new CryptoError('INVALID_INPUT', 'agreementSecretKey must be 32 bytes');
  }
  const keys: DeviceKeys = {
    device_id: input.device_id,
    key_version: input.key_version,
    agreement: {
      secretKey: input.agreementSecretKey,
      publicKey: x25519.getPublicKey(input.agreementSecretKey),
    },
  };
  if (input.signingSecretKey !== undefined) {
    if (!(input.signingSecretKey instanceof Uint8Array) || input.signingSecretKey.length !== ED25519_SECRET_KEY_LENGTH) {
      throw new CryptoError('INVALID_INPUT', 'signingSecretKey must be 32 bytes');
    }
    keys.signing = {
      secretKey: input.signingSecretKey,
      publicKey: ed25519.getPublicKey(input.signingSecretKey),
    };
  }
  return keys;
}

export function toPublicKeyBundle(keys: DeviceKeys): PublicKeyBundle {
  const bundle: PublicKeyBundle = {
    device_id: keys.device_id,
    key_version: keys.key_version,
    public_key: bytesToBase64(keys.agreement.publicKey),
  };
  if (keys.signing) bundle.signing_key = bytesToBase64(keys.signing.publicKey);
  return bundle;
}

/** Validate an untrusted value (e.g. JSON from the server) as a {@link PublicKeyBundle}. */
export function parsePublicKeyBundle(value: unknown): PublicKeyBundle {
  if (typeof value !== 'object' || value === null) {
    throw new CryptoError('INVALID_INPUT', 'public key bundle must be an object');
  }
  const v = value as Record<string, unknown>;
  assertNonEmptyString(v['device_id'], 'device_id');
  assertU32(v['key_version'], 'key_version');
  if (typeof v['public_key'] !== 'string') throw new CryptoError('INVALID_INPUT', 'public_key must be a string');
  base64ToFixedBytes(v['public_key'], X25519_KEY_LENGTH, 'public_key');
  const bundle: PublicKeyBundle = {
    device_id: v['device_id'],
    key_version: v['key_version'],
    public_key: v['public_key'],
  };
  if (v['signing_key'] !== undefined) {
    if (typeof v['signing_key'] !== 'string') throw new CryptoError('INVALID_INPUT', 'signing_key must be a string');
    const signing = base64ToFixedBytes(v['signing_key'], ED25519_PUBLIC_KEY_LENGTH, 'signing_key');
    if (!ed25519.utils.isValidPublicKey(signing, false)) {
      throw new CryptoError('INVALID_INPUT', 'signing_key is not a valid Ed25519 public key');
    }
    bundle.signing_key = v['signing_key'];
  }
  return bundle;
}

/** Accept a key as raw bytes or base64 and return the bytes (checking length). */
export function keyBytes(key: Uint8Array | string, length: number, what: string): Uint8Array {
  if (typeof key === 'string') return base64ToFixedBytes(key, length, what);
  if (!(key instanceof Uint8Array) || key.length !== length) {
    throw new CryptoError('INVALID_INPUT', `${what} must be ${length} bytes`);
  }
  return key;
}
