/**
 * Device verification (E2E v2): a safety number per user over the credentials of their devices, in
 * the manner of Signal's numeric fingerprints. A user's fingerprint is 30 digits:
 *
 *   h0 = SHA-512(u16be(version) || canon[tenant, user] || devices)
 *   h(i+1) = SHA-512(h(i) || devices), 5200 iterations
 *   digits = for each of the first six 5-byte chunks of h: u40be(chunk) mod 100000, zero-padded to 5
 *
 * where `devices` is canon[device id, Ed25519 signature public key] of every device, sorted by device
 * id (order-independent; adding, removing or re-keying a device changes the number). The safety number
 * of two users is their two fingerprints, the smaller first (60 digits): both sides compute the same
 * one, and compare it out of band (read aloud, or a QR code of the digits).
 * Composition only: SHA-512 from @noble/hashes; the iteration count makes a second pre-image search cost.
 */
import { sha512 } from '@noble/hashes/sha2.js';
import { compareBytes, encodeFields } from '../crypto/canonical';
import { concatBytes } from '../crypto/encoding';
import { CryptoError } from '../crypto/errors';

const VERSION = 1;
const ITERATIONS = 5200;

export interface DeviceCredential {
  deviceId: string;
  /** The device's MLS signature public key (Ed25519, 32 bytes). */
  signaturePublicKey: Uint8Array;
}

export interface UserDevices {
  tenantId: string;
  userId: string;
  devices: DeviceCredential[];
}

function devicesBlob(devices: DeviceCredential[]): Uint8Array {
  const ids = new Set<string>();
  const parts = devices.map((d) => {
    if (typeof d.deviceId !== 'string' || d.deviceId.length === 0) throw new CryptoError('INVALID_INPUT', 'deviceId must be a non-empty string');
    if (!(d.signaturePublicKey instanceof Uint8Array) || d.signaturePublicKey.length === 0) throw new CryptoError('INVALID_INPUT', 'signaturePublicKey must be bytes');
    if (ids.has(d.deviceId)) throw new CryptoError('INVALID_INPUT', `device ${d.deviceId} appears twice`);
    ids.add(d.deviceId);
    return encodeFields([d.deviceId, d.signaturePublicKey]);
  });
  parts.sort(compareBytes);
  return encodeFields([parts.length, concatBytes(...parts)]);
}

/** 30 digits identifying a user's set of device credentials. */
export function userFingerprint(user: UserDevices): string {
  if (user.devices.length === 0) throw new CryptoError('INVALID_INPUT', 'a user without devices has no fingerprint');
  const blob = devicesBlob(user.devices);
  let h = sha512(concatBytes(Uint8Array.of(0, VERSION), encodeFields([user.tenantId, user.userId]), blob));
  for (let i = 0; i < ITERATIONS; i++) h = sha512(concatBytes(h, blob));
  let out = '';
  for (let c = 0; c < 6; c++) {
    let v = 0;
    for (let i = 0; i < 5; i++) v = v * 256 + h[c * 5 + i]!;
    out += String(v % 100000).padStart(5, '0');
  }
  return out;
}

/** The safety number of two users (60 digits in groups of five): the same whichever side computes it. */
export function safetyNumber(a: UserDevices, b: UserDevices): string {
  const [x, y] = [userFingerprint(a), userFingerprint(b)].sort();
  return (x! + y!).match(/.{5}/g)!.join(' ');
}

/**
 * Whether two renderings of a safety number are the same (spaces and other separators ignored): what
 * the two users compare. Compares every digit, so the time does not tell where they differ.
 */
export function sameSafetyNumber(a: string, b: string): boolean {
  const x = String(a).replace(/\D/g, '');
  const y = String(b).replace(/\D/g, '');
  if (x.length !== 60 || y.length !== 60) return false;
  let diff = 0;
  for (let i = 0; i < 60; i++) diff |= x.charCodeAt(i) ^ y.charCodeAt(i);
  return diff === 0;
}

/** Groups member devices' credentials (e.g. MlsClient.memberCredentials) by user, as safetyNumber takes them. */
export function usersFromCredentials(creds: Array<{ tenantId: string; userId: string; deviceId: string; signaturePublicKey: Uint8Array }>): Map<string, UserDevices> {
  const out = new Map<string, UserDevices>();
  for (const c of creds) {
    const u = out.get(c.userId) ?? { tenantId: c.tenantId, userId: c.userId, devices: [] };
    u.devices.push({ deviceId: c.deviceId, signaturePublicKey: c.signaturePublicKey });
    out.set(c.userId, u);
  }
  return out;
}
