/**
 * How MlsClient (client.ts) keeps its state in an MlsStateStore: the device record (identity and
 * Ed25519 signature key pair), the key packages it published and has not seen used (public package
 * and private HPKE keys), and each group's ts-mls state.
 *
 * A group's state is ts-mls's own encoding (`encodeGroupState`, which holds the whole GroupState: key
 * schedule, secret tree with its ratchet generations, ratchet tree, private path, signature key,
 * receiver data of past epochs); the client configuration (not state) is supplied again on load.
 * The public key package is an MLSMessage (ts-mls's encoding). ts-mls has no encoding of a
 * PrivateKeyPackage or of a signature key pair, so those records are small JSON documents with base64
 * fields: application records, not protocol messages.
 */
import { type ClientConfig, type ClientState, type KeyPackage, type PrivateKeyPackage, decodeGroupState, encodeGroupState } from 'ts-mls';
import { base64ToBytes, bytesToBase64, bytesToUtf8, utf8ToBytes } from '../crypto/encoding';
import { decodeMessage, encodeMessage } from './codec';
import { MlsError } from './errors';
import { type MlsIdentity, decodeIdentity, identityToString } from './identity';
import type { MlsStateStore } from './state-store';

/** First byte of a stored group state: 1 = ts-mls 1.x `encodeGroupState`. A later ts-mls encoding gets another. */
const GROUP_FORMAT = 1;

export const DEVICE_KEY = 'device';
export const groupKey = (groupId: string) => `group/${groupId}`;
export const keyPackageKey = (ref: string) => `kp/${ref}`;

export interface SignatureKeyPair {
  signKey: Uint8Array;
  publicKey: Uint8Array;
}

export interface StoredKeyPackage {
  publicPackage: KeyPackage;
  privatePackage: PrivateKeyPackage;
  lastResort: boolean;
}

const json = (value: unknown) => utf8ToBytes(JSON.stringify(value));

function parse<T>(bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(bytesToUtf8(bytes)) as T;
  } catch (err) {
    throw new MlsError('INVALID_INPUT', `the stored ${what} is not readable`, { cause: err });
  }
}

export function encodeDevice(identity: MlsIdentity, keys: SignatureKeyPair): Uint8Array {
  return json({ v: 1, identity: identityToString(identity), signKey: bytesToBase64(keys.signKey), publicKey: bytesToBase64(keys.publicKey) });
}

export function decodeDevice(bytes: Uint8Array): { identity: MlsIdentity; keys: SignatureKeyPair } {
  const r = parse<{ v?: number; identity?: string; signKey?: string; publicKey?: string }>(bytes, 'device record');
  const identity = typeof r.identity === 'string' ? decodeIdentity(utf8ToBytes(r.identity)) : null;
  if (r.v !== 1 || !identity || typeof r.signKey !== 'string' || typeof r.publicKey !== 'string') throw new MlsError('INVALID_INPUT', 'the stored device record is not readable');
  return { identity, keys: { signKey: base64ToBytes(r.signKey), publicKey: base64ToBytes(r.publicKey) } };
}

/** The private package's signature key is the device's (one key per device): not stored twice. */
export function encodeKeyPackage(kp: StoredKeyPackage): Uint8Array {
  return json({
    v: 1,
    lastResort: kp.lastResort,
    keyPackage: bytesToBase64(encodeMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: kp.publicPackage })),
    initPrivateKey: bytesToBase64(kp.privatePackage.initPrivateKey),
    hpkePrivateKey: bytesToBase64(kp.privatePackage.hpkePrivateKey),
  });
}

export function decodeKeyPackage(bytes: Uint8Array, signKey: Uint8Array): StoredKeyPackage {
  const r = parse<{ v?: number; lastResort?: boolean; keyPackage?: string; initPrivateKey?: string; hpkePrivateKey?: string }>(bytes, 'key package');
  if (r.v !== 1 || typeof r.keyPackage !== 'string' || typeof r.initPrivateKey !== 'string' || typeof r.hpkePrivateKey !== 'string') throw new MlsError('INVALID_INPUT', 'the stored key package is not readable');
  const msg = decodeMessage(base64ToBytes(r.keyPackage));
  if (msg.wireformat !== 'mls_key_package') throw new MlsError('INVALID_INPUT', 'the stored key package is not a key package');
  return {
    publicPackage: msg.keyPackage,
    privatePackage: { initPrivateKey: base64ToBytes(r.initPrivateKey), hpkePrivateKey: base64ToBytes(r.hpkePrivateKey), signaturePrivateKey: signKey },
    lastResort: r.lastResort === true,
  };
}

export function encodeGroup(state: ClientState): Uint8Array {
  const body = encodeGroupState(state);
  const out = new Uint8Array(body.length + 1);
  out[0] = GROUP_FORMAT;
  out.set(body, 1);
  return out;
}

export function decodeGroup(bytes: Uint8Array, clientConfig: ClientConfig): ClientState {
  if (bytes[0] !== GROUP_FORMAT) throw new MlsError('INVALID_INPUT', 'the stored group state has an unknown format');
  const body = bytes.subarray(1);
  let decoded: ReturnType<typeof decodeGroupState>;
  try {
    decoded = decodeGroupState(body, 0);
  } catch (err) {
    throw new MlsError('INVALID_INPUT', 'the stored group state is not readable', { cause: err });
  }
  // The second element is the length decoded (from offset 0): all of it, nothing after.
  if (!decoded || decoded[1] !== body.length) throw new MlsError('INVALID_INPUT', 'the stored group state is not readable');
  return { ...decoded[0], clientConfig };
}

/**
 * Writes of one client, in order per key: each write is queued behind the previous one of its key, so a
 * state written after a later one can never overwrite it. `flush` waits for all and reports a failure.
 */
export class OrderedWrites {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(readonly store: MlsStateStore) {}

  put(key: string, value: Uint8Array): Promise<void> {
    return this.enqueue(key, () => this.store.put(key, value));
  }

  delete(key: string): Promise<void> {
    return this.enqueue(key, () => this.store.delete(key));
  }

  private enqueue(key: string, write: () => Promise<void>): Promise<void> {
    const run = (this.tails.get(key) ?? Promise.resolve()).catch(() => undefined).then(write);
    this.tails.set(key, run);
    const settled = () => {
      if (this.tails.get(key) === run) this.tails.delete(key);
    };
    // A failure stays in `tails` for flush to report (until a newer write of the key replaces it).
    run.then(settled, () => undefined);
    return run;
  }

  /** Waits for every queued write; rejects with a failed one. */
  async flush(): Promise<void> {
    await Promise.all([...this.tails.values()]);
  }
}
