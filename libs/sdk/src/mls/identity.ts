import { MlsError } from './errors';

/**
 * Who an MLS client is: one device of one end user of one tenant. The credential is an MLS "basic"
 * credential whose identity is the UTF-8 text `tenant/user/device`; none of the three may contain
 * '/', so the text parses back unambiguously. The server checks, when a device publishes a key
 * package, that this identity is the authenticated caller's (docs/e2e-crypto.md, v2).
 */
export interface MlsIdentity {
  tenantId: string;
  userId: string;
  deviceId: string;
}

// The same alphabets the server accepts for tenant ids, external user ids and device ids.
const TENANT_RE = /^[A-Za-z0-9_-]{1,64}$/;
const USER_RE = /^[A-Za-z0-9_.@:+=-]{1,128}$/;
const DEVICE_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

export function isMlsIdentity(id: MlsIdentity): boolean {
  return TENANT_RE.test(id.tenantId) && USER_RE.test(id.userId) && DEVICE_RE.test(id.deviceId);
}

/** `tenant/user/device` (throws INVALID_INPUT when a part is outside its alphabet). */
export function identityToString(id: MlsIdentity): string {
  if (!isMlsIdentity(id)) throw new MlsError('INVALID_INPUT', 'identity parts must be a valid tenant id, external user id and device id');
  return `${id.tenantId}/${id.userId}/${id.deviceId}`;
}

export function encodeIdentity(id: MlsIdentity): Uint8Array {
  return new TextEncoder().encode(identityToString(id));
}

/** The identity in a credential's bytes, or null when they are not a well-formed `tenant/user/device`. */
export function decodeIdentity(bytes: Uint8Array): MlsIdentity | null {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  const parts = text.split('/');
  if (parts.length !== 3) return null;
  const id = { tenantId: parts[0]!, userId: parts[1]!, deviceId: parts[2]! };
  return isMlsIdentity(id) ? id : null;
}

export function sameIdentity(a: MlsIdentity, b: MlsIdentity): boolean {
  return a.tenantId === b.tenantId && a.userId === b.userId && a.deviceId === b.deviceId;
}
