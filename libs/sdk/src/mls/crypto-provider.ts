/**
 * The crypto under ts-mls for our one ciphersuite, composed for speed (measured in bench/RESULTS.md,
 * "MLS client costs"). ts-mls's default provider runs every SHA-256, HMAC and HKDF step as an async
 * WebCrypto call (an importKey per HMAC, a thread-pool round trip per digest) and imports the Ed25519
 * key again for every signature and verification. A group of N devices derives O(N) secrets per epoch
 * (the secret tree) and hashes O(N) tree nodes per commit, so at 2,000 leaves that overhead, not the
 * cryptography, was most of the time. Here:
 * - SHA-256, HMAC and HKDF (RFC 5869): @noble/hashes, synchronous, in every runtime;
 * - Ed25519: WebCrypto as before, with imported keys cached (bounded, by key bytes);
 * - HPKE (X25519, AES-128-GCM), AEAD and randomness: ts-mls's default provider, unchanged.
 * Nothing here is new cryptography: the same primitives, from vetted libraries, called differently.
 */
import { expand, extract } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { type CiphersuiteImpl, type CryptoProvider, defaultCryptoProvider } from 'ts-mls';

type Hash = CiphersuiteImpl['hash'];
type Kdf = CiphersuiteImpl['kdf'];
type Signature = CiphersuiteImpl['signature'];

/** Equal length and content, in time independent of where they differ. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export const sha256Hash: Hash = {
  digest: async (data) => sha256(data),
  mac: async (key, data) => hmac(sha256, key, data),
  verifyMac: async (key, mac, data) => constantTimeEqual(hmac(sha256, key, data), mac),
};

export const hkdfSha256: Kdf = {
  extract: async (salt, ikm) => extract(sha256, ikm, salt),
  expand: async (prk, info, len) => expand(sha256, prk, info, len),
  size: 32,
};

/** A small LRU of imported keys: Map keeps insertion order, a hit moves the key to the end. */
class KeyCache {
  private readonly map = new Map<string, Promise<CryptoKey>>();
  constructor(private readonly max: number) {}

  get(id: string, load: () => Promise<CryptoKey>): Promise<CryptoKey> {
    let key = this.map.get(id);
    if (key) {
      this.map.delete(id);
    } else {
      key = load();
      // A failed import is not kept: the next call tries again (and fails the same way).
      key.catch(() => this.map.delete(id));
    }
    this.map.set(id, key);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
    return key;
  }
}

/** A map key for a key's bytes (keys are 32-48 bytes; any runtime, no Buffer). */
const idOf = (bytes: Uint8Array) => String.fromCharCode(...bytes);

/** PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410), as ts-mls's default provider does. */
function rawEd25519ToPkcs8(seed: Uint8Array): Uint8Array {
  const prefix = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
  const out = new Uint8Array(prefix.length + 32);
  out.set(prefix);
  out.set(seed, prefix.length);
  return out;
}

const view = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;

/**
 * Ed25519 through WebCrypto with the imported CryptoKeys kept (a device signs with one key; a group
 * member verifies the same few thousand leaf keys again and again). Keys are identified by their
 * bytes, so a cached key is exactly the one the bytes name. Private keys stay non-extractable; a
 * signing key stays cached (in this process's memory, as the group state holding its bytes does) until
 * 256 more recent ones push it out.
 */
export function cachedEd25519(subtle: SubtleCrypto, keygen: Signature['keygen']): Signature {
  const signKeys = new KeyCache(256);
  const verifyKeys = new KeyCache(16384);
  return {
    keygen,
    async sign(signKey, message) {
      const pkcs8 = signKey.length === 32 ? rawEd25519ToPkcs8(signKey) : signKey;
      const key = await signKeys.get(idOf(pkcs8), () => subtle.importKey('pkcs8', view(pkcs8), 'Ed25519', false, ['sign']));
      return new Uint8Array(await subtle.sign('Ed25519', key, view(message)));
    },
    async verify(publicKey, message, signature) {
      const key = await verifyKeys.get(idOf(publicKey), () => subtle.importKey('raw', view(publicKey), 'Ed25519', false, ['verify']));
      return subtle.verify('Ed25519', key, view(signature), view(message));
    },
  };
}

async function webCryptoEd25519(): Promise<SubtleCrypto | null> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return null;
  try {
    await subtle.generateKey('Ed25519', false, ['sign', 'verify']);
    return subtle;
  } catch {
    return null; // a runtime without WebCrypto Ed25519: ts-mls's own fallback (@noble/curves) stays
  }
}

/** ts-mls's default provider with the faster parts above for `MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519`. */
export const fastCryptoProvider: CryptoProvider = {
  async getCiphersuiteImpl(cs) {
    const base = await defaultCryptoProvider.getCiphersuiteImpl(cs);
    if (cs.name !== 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519') return base;
    const subtle = await webCryptoEd25519();
    return { ...base, hash: sha256Hash, kdf: hkdfSha256, signature: subtle ? cachedEd25519(subtle, base.signature.keygen) : base.signature };
  },
};
