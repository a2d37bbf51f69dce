import { randomBytes } from 'node:crypto';
import { defaultCryptoProvider, getCiphersuiteFromName } from 'ts-mls';
import { MLS_CIPHERSUITE } from './codec';
import { fastCryptoProvider } from './crypto-provider';

// The fast provider must compute exactly what ts-mls's default one does (it only calls the same
// primitives differently): same digests, MACs and HKDF output, and signatures either side verifies.
describe('fastCryptoProvider', () => {
  const suite = getCiphersuiteFromName(MLS_CIPHERSUITE);
  const load = () => Promise.all([defaultCryptoProvider.getCiphersuiteImpl(suite), fastCryptoProvider.getCiphersuiteImpl(suite)]);

  it('hashes, MACs and derives the same bytes as the default provider', async () => {
    const [ref, fast] = await load();
    for (const size of [0, 1, 31, 32, 33, 64, 65, 1000, 70_000]) {
      const data = new Uint8Array(randomBytes(size));
      const key = new Uint8Array(randomBytes(32));
      expect(await fast.hash.digest(data)).toEqual(await ref.hash.digest(data));
      const mac = await fast.hash.mac(key, data);
      expect(mac).toEqual(await ref.hash.mac(key, data));
      expect(await fast.hash.verifyMac(key, mac, data)).toBe(true);
      const bad = mac.slice();
      bad[0]! ^= 1;
      expect(await fast.hash.verifyMac(key, bad, data)).toBe(false);
      expect(await fast.hash.verifyMac(key, mac.subarray(1), data)).toBe(false);
      // ts-mls only extracts with an empty or hash-sized salt (the default provider refuses any other).
      const salt = new Uint8Array(randomBytes(size % 2 ? 32 : 0));
      const prk = await fast.kdf.extract(salt, data);
      expect(prk).toEqual(await ref.kdf.extract(salt, data));
      for (const len of [1, 16, 32, 64, 100]) expect(await fast.kdf.expand(prk, key, len)).toEqual(await ref.kdf.expand(prk, key, len));
    }
    expect(fast.kdf.size).toBe(ref.kdf.size);
  });

  it('signs and verifies interchangeably with the default provider, cached keys included', async () => {
    const [ref, fast] = await load();
    const a = await ref.signature.keygen();
    const b = await fast.signature.keygen();
    for (let i = 0; i < 3; i++) {
      const msg = new Uint8Array(randomBytes(100 + i));
      for (const [signer, keys] of [[ref, a], [fast, a], [ref, b], [fast, b]] as const) {
        const sig = await signer.signature.sign(keys.signKey, msg);
        expect(await fast.signature.verify(keys.publicKey, msg, sig)).toBe(true);
        expect(await ref.signature.verify(keys.publicKey, msg, sig)).toBe(true);
        const tampered = msg.slice();
        tampered[0]! ^= 1;
        expect(await fast.signature.verify(keys.publicKey, tampered, sig)).toBe(false);
        // The other key's cached CryptoKey never verifies this key's signature.
        expect(await fast.signature.verify(keys === a ? b.publicKey : a.publicKey, msg, sig)).toBe(false);
      }
    }
  });
});
