import { CryptoError } from './errors';
import { generateDeviceKeys, parsePublicKeyBundle, toPublicKeyBundle } from './identity';
import {
  createKeyring,
  currentPublicBundle,
  exportKeyring,
  getKeys,
  importKeyring,
  keyringFromKeys,
  removeKeyVersions,
  rotateKeyring,
} from './keyring';

describe('identity keys', () => {
  it('generates X25519 + Ed25519 keys and a serialisable public bundle', () => {
    const keys = generateDeviceKeys({ deviceId: 'phone-1' });
    expect(keys.key_version).toBe(1);
    expect(keys.agreement.publicKey).toHaveLength(32);
    expect(keys.signing?.publicKey).toHaveLength(32);
    const bundle = toPublicKeyBundle(keys);
    expect(Object.keys(bundle).sort()).toEqual(['device_id', 'key_version', 'public_key', 'signing_key']);
    expect(bundle.device_id).toBe('phone-1');
    expect(JSON.stringify(bundle)).not.toContain('secret');
    expect(parsePublicKeyBundle(JSON.parse(JSON.stringify(bundle)))).toEqual(bundle);
  });

  it('signing key is optional', () => {
    const keys = generateDeviceKeys({ deviceId: 'd', keyVersion: 7, withSigningKey: false });
    const bundle = toPublicKeyBundle(keys);
    expect(bundle).toEqual({ device_id: 'd', key_version: 7, public_key: expect.any(String) });
    expect(bundle.signing_key).toBeUndefined();
  });

  it('rejects malformed bundles', () => {
    const good = toPublicKeyBundle(generateDeviceKeys({ deviceId: 'd' }));
    expect(() => parsePublicKeyBundle(null)).toThrow(CryptoError);
    expect(() => parsePublicKeyBundle({ ...good, device_id: '' })).toThrow(CryptoError);
    expect(() => parsePublicKeyBundle({ ...good, key_version: -1 })).toThrow(CryptoError);
    expect(() => parsePublicKeyBundle({ ...good, key_version: 1.5 })).toThrow(CryptoError);
    expect(() => parsePublicKeyBundle({ ...good, public_key: 'AAAA' })).toThrow(CryptoError);
    expect(() => parsePublicKeyBundle({ ...good, signing_key: 42 })).toThrow(CryptoError);
  });
});

describe('keyring rotation', () => {
  it('rotates to a new current version while keeping the old ones', () => {
    const k1 = createKeyring('laptop');
    expect(k1.current_version).toBe(1);
    const { keyring: k2, keys } = rotateKeyring(k1);
    expect(keys.key_version).toBe(2);
    expect(k2.current_version).toBe(2);
    expect(k2.keys.map((k) => k.key_version)).toEqual([1, 2]);
    expect(getKeys(k2, 1)).toBe(getKeys(k1, 1));
    expect(currentPublicBundle(k2).key_version).toBe(2);
    expect(currentPublicBundle(k2).public_key).not.toBe(currentPublicBundle(k1).public_key);
    // the original keyring value is untouched (immutable helpers)
    expect(k1.keys).toHaveLength(1);
  });

  it('removes old versions but never the current one', () => {
    const { keyring } = rotateKeyring(createKeyring('laptop'));
    const old = getKeys(keyring, 1);
    const pruned = removeKeyVersions(keyring, [1]);
    expect(pruned.keys.map((k) => k.key_version)).toEqual([2]);
    expect(old.agreement.secretKey.every((b) => b === 0)).toBe(true);
    expect(() => getKeys(pruned, 1)).toThrow(expect.objectContaining({ code: 'UNKNOWN_KEY_VERSION' }));
    expect(() => removeKeyVersions(pruned, [2])).toThrow(CryptoError);
  });

  it('exports and imports (secret) keyring material', () => {
    const { keyring } = rotateKeyring(createKeyring('tablet'), { withSigningKey: false });
    const restored = importKeyring(JSON.parse(JSON.stringify(exportKeyring(keyring))));
    expect(restored.current_version).toBe(2);
    expect(restored.keys.map((k) => toPublicKeyBundle(k))).toEqual(keyring.keys.map((k) => toPublicKeyBundle(k)));
    expect(restored.keys[1]?.signing).toBeUndefined();
    expect(restored.keys[0]?.signing).toBeDefined();
  });

  it('rejects inconsistent keyrings', () => {
    const a = generateDeviceKeys({ deviceId: 'a' });
    const b = generateDeviceKeys({ deviceId: 'b', keyVersion: 2 });
    expect(() => keyringFromKeys([a, b])).toThrow(CryptoError);
    expect(() => keyringFromKeys([a, generateDeviceKeys({ deviceId: 'a' })])).toThrow(CryptoError);
    expect(() => keyringFromKeys([a], 5)).toThrow(CryptoError);
    expect(() => keyringFromKeys([])).toThrow(CryptoError);
  });
});
