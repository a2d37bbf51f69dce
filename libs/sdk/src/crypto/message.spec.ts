import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeFields } from './canonical';
import { ALGORITHM } from './constants';
import { base64ToBytes, bytesToBase64, bytesToUtf8, concatBytes } from './encoding';
import type { EncryptedMessageContent } from './envelope';
import { CryptoError, type CryptoErrorCode } from './errors';
import { toPublicKeyBundle, type DeviceKeys } from './identity';
import type { RecipientPublicKey } from './key-wrap';
import { createKeyring, getKeys, removeKeyVersions, rotateKeyring, type DeviceKeyring } from './keyring';
import { decryptMessage, encryptMessage, type DecryptMessageInput } from './message';
import { verifyMessageSignature } from './signature';

interface Device {
  userId: string;
  keyring: DeviceKeyring;
}

function device(userId: string, deviceId: string): Device {
  return { userId, keyring: createKeyring(deviceId) };
}

function recipient(d: Device): RecipientPublicKey {
  return { user_id: d.userId, ...toPublicKeyBundle(getKeys(d.keyring)) };
}

function expectCode(fn: () => unknown, code: CryptoErrorCode): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(CryptoError);
  expect((caught as CryptoError).code).toBe(code);
}

const CONV = 'conv-42';
const alicePhone = device('alice', 'alice-phone');
const aliceLaptop = device('alice', 'alice-laptop');
const bobPhone = device('bob', 'bob-phone');
const carolPhone = device('carol', 'carol-phone');
const eve = device('eve', 'eve-phone');
const aliceKeys = (): DeviceKeys => getKeys(alicePhone.keyring);

function send(text: string, recipients: Device[], opts: { sign?: boolean; type?: EncryptedMessageContent['type'] } = {}) {
  const keys = aliceKeys();
  return encryptMessage({
    plaintext: text,
    type: opts.type ?? 'text',
    conversationId: CONV,
    senderId: 'alice',
    senderDevice: keys,
    recipients: recipients.map(recipient),
    ...(opts.sign ? { signingKey: keys.signing!.secretKey } : {}),
  });
}

function read(content: EncryptedMessageContent, me: Device, extra: Partial<DecryptMessageInput> = {}): string {
  return bytesToUtf8(
    decryptMessage({
      content,
      conversationId: CONV,
      senderId: 'alice',
      myUserId: me.userId,
      myDevice: me.keyring,
      ...extra,
    }),
  );
}

describe('encryptMessage / decryptMessage', () => {
  it('produces the envelope contract', () => {
    const content = send('hello', [bobPhone]);
    expect(Object.keys(content).sort()).toEqual(
      ['algorithm', 'encrypted_data', 'encrypted_key', 'ephemeral_public_key', 'sender_device_id', 'sender_key_version', 'type'].sort(),
    );
    expect(content.algorithm).toBe('x25519-hkdf-xchacha20poly1305-v1');
    expect(content.type).toBe('text');
    expect(content.sender_device_id).toBe('alice-phone');
    expect(content.sender_key_version).toBe(1);
    expect(base64ToBytes(content.ephemeral_public_key)).toHaveLength(32);
    expect(base64ToBytes(content.encrypted_data)).toHaveLength(24 + 5 + 16);
    expect(content.encrypted_key).toEqual([
      { user_id: 'bob', device_id: 'bob-phone', key_version: 1, wrapped_key: expect.any(String) },
    ]);
    expect(base64ToBytes(content.encrypted_key[0]!.wrapped_key)).toHaveLength(24 + 32 + 16);
    expect(JSON.stringify(content)).not.toContain('hello');
  });

  it('round-trips for one recipient (string and binary plaintext)', () => {
    expect(read(send('hello bob', [bobPhone]), bobPhone)).toBe('hello bob');
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i & 255);
    const content = encryptMessage({
      plaintext: bytes,
      type: 'file',
      conversationId: CONV,
      senderId: 'alice',
      senderDevice: aliceKeys(),
      recipients: [recipient(bobPhone)],
    });
    expect(
      decryptMessage({ content, conversationId: CONV, senderId: 'alice', myUserId: 'bob', myDevice: bobPhone.keyring }),
    ).toEqual(bytes);
  });

  it('round-trips for several recipients and devices, after a JSON round trip', () => {
    const all = [alicePhone, aliceLaptop, bobPhone, carolPhone];
    const content = JSON.parse(JSON.stringify(send('hi all 👋', all))) as EncryptedMessageContent;
    expect(content.encrypted_key).toHaveLength(4);
    for (const d of all) expect(read(content, d)).toBe('hi all 👋');
    // a single DeviceKeys (not a keyring) works too
    expect(read(content, { userId: 'bob', keyring: bobPhone.keyring }, { myDevice: getKeys(bobPhone.keyring) })).toBe('hi all 👋');
  });

  it('uses a fresh ephemeral key, nonce and content key per message', () => {
    const a = send('same', [bobPhone]);
    const b = send('same', [bobPhone]);
    expect(a.ephemeral_public_key).not.toBe(b.ephemeral_public_key);
    expect(a.encrypted_data).not.toBe(b.encrypted_data);
    expect(a.encrypted_key[0]!.wrapped_key).not.toBe(b.encrypted_key[0]!.wrapped_key);
  });

  it('a non-recipient cannot decrypt', () => {
    const content = send('secret', [bobPhone]);
    expectCode(() => read(content, carolPhone), 'NO_WRAPPED_KEY');
    // even when pretending to be a recipient's user id, a different device has no wrapped key
    expectCode(() => read(content, { userId: 'bob', keyring: eve.keyring }), 'NO_WRAPPED_KEY');
    // and relabelling an entry for another device does not help: the keys do not match
    const relabelled = {
      ...content,
      encrypted_key: [{ ...content.encrypted_key[0]!, user_id: 'eve', device_id: 'eve-phone' }],
    };
    expectCode(() => read(relabelled, eve), 'AUTHENTICATION_FAILED');
    // another user's device id reused under bob's user id (key version matches, keys do not)
    expectCode(() => read(content, { userId: 'bob', keyring: createKeyring('bob-phone') }), 'AUTHENTICATION_FAILED');
  });

  it('detects tampered ciphertext, wrapped key and header fields', () => {
    const content = send('tamper me', [bobPhone]);
    const data = base64ToBytes(content.encrypted_data);
    for (const index of [0, 30, data.length - 1]) {
      const copy = data.slice();
      copy[index]! ^= 1;
      expectCode(() => read({ ...content, encrypted_data: bytesToBase64(copy) }, bobPhone), 'AUTHENTICATION_FAILED');
    }
    expectCode(() => read({ ...content, encrypted_data: bytesToBase64(data.subarray(0, data.length - 1)) }, bobPhone), 'AUTHENTICATION_FAILED');

    const wrapped = base64ToBytes(content.encrypted_key[0]!.wrapped_key);
    wrapped[40]! ^= 0x80;
    expectCode(
      () => read({ ...content, encrypted_key: [{ ...content.encrypted_key[0]!, wrapped_key: bytesToBase64(wrapped) }] }, bobPhone),
      'AUTHENTICATION_FAILED',
    );
    const other = send('other', [bobPhone]);
    expectCode(() => read({ ...content, ephemeral_public_key: other.ephemeral_public_key }, bobPhone), 'AUTHENTICATION_FAILED');
    expectCode(() => read({ ...content, type: 'image' }, bobPhone), 'AUTHENTICATION_FAILED');
    expectCode(() => read({ ...content, sender_device_id: 'alice-laptop' }, bobPhone), 'AUTHENTICATION_FAILED');
    expectCode(() => read({ ...content, sender_key_version: 2 }, bobPhone), 'AUTHENTICATION_FAILED');
    // swapping in another message's encrypted_data
    expectCode(() => read({ ...content, encrypted_data: other.encrypted_data }, bobPhone), 'AUTHENTICATION_FAILED');
  });

  it('cannot be replayed into another conversation or attributed to another sender', () => {
    const content = send('bound', [bobPhone]);
    expectCode(() => read(content, bobPhone, { conversationId: 'conv-43' }), 'AUTHENTICATION_FAILED');
    expectCode(() => read(content, bobPhone, { senderId: 'mallory' }), 'AUTHENTICATION_FAILED');
  });

  it('rejects malformed envelopes and unknown algorithms', () => {
    const content = send('x', [bobPhone]);
    const bad = (patch: Record<string, unknown>) => ({ ...content, ...patch }) as unknown as EncryptedMessageContent;
    expectCode(() => read(bad({ algorithm: 'x25519-hkdf-xchacha20poly1305-v2' }), bobPhone), 'UNSUPPORTED_ALGORITHM');
    expectCode(() => read(bad({ type: 'sticker' }), bobPhone), 'INVALID_INPUT');
    expectCode(() => read(bad({ encrypted_key: [] }), bobPhone), 'INVALID_INPUT');
    expectCode(() => read(bad({ ephemeral_public_key: 'AAAA' }), bobPhone), 'INVALID_INPUT');
    expectCode(() => read(bad({ sender_key_version: '1' }), bobPhone), 'INVALID_INPUT');
    expectCode(() => read(null as unknown as EncryptedMessageContent, bobPhone), 'INVALID_INPUT');
  });

  it('validates encryption inputs', () => {
    const base = {
      plaintext: 'x',
      type: 'text' as const,
      conversationId: CONV,
      senderId: 'alice',
      senderDevice: aliceKeys(),
      recipients: [recipient(bobPhone)],
    };
    expectCode(() => encryptMessage({ ...base, recipients: [] }), 'INVALID_INPUT');
    expectCode(() => encryptMessage({ ...base, recipients: [recipient(bobPhone), recipient(bobPhone)] }), 'INVALID_INPUT');
    expectCode(() => encryptMessage({ ...base, type: 'gif' as unknown as 'text' }), 'INVALID_INPUT');
    expectCode(() => encryptMessage({ ...base, conversationId: '' }), 'INVALID_INPUT');
    expectCode(
      () => encryptMessage({ ...base, recipients: [{ ...recipient(bobPhone), public_key: bytesToBase64(new Uint8Array(32)) }] }),
      'INVALID_INPUT',
    );
  });
});

describe('signatures', () => {
  const signingPublic = () => aliceKeys().signing!.publicKey;

  it('signs and verifies (raw key, base64 key and public bundle)', () => {
    const content = send('signed', [bobPhone], { sign: true });
    expect(base64ToBytes(content.signature!)).toHaveLength(64);
    expect(verifyMessageSignature(content, CONV, 'alice', signingPublic())).toBe(true);
    expect(read(content, bobPhone, { senderSigningKey: signingPublic() })).toBe('signed');
    expect(read(content, bobPhone, { senderSigningKey: bytesToBase64(signingPublic()) })).toBe('signed');
    expect(read(content, bobPhone, { senderSigningKey: toPublicKeyBundle(aliceKeys()) })).toBe('signed');
    // unsigned verification path still works without a key
    expect(read(content, bobPhone)).toBe('signed');
  });

  it('does not depend on the order of encrypted_key entries', () => {
    const content = send('order', [bobPhone, carolPhone], { sign: true });
    const reordered = { ...content, encrypted_key: [...content.encrypted_key].reverse() };
    expect(read(reordered, carolPhone, { senderSigningKey: signingPublic() })).toBe('order');
  });

  it('detects tampering of every signed field', () => {
    const content = send('signed', [bobPhone, carolPhone], { sign: true });
    const other = send('other', [bobPhone, carolPhone], { sign: true });
    const entry0 = content.encrypted_key[0]!;
    const variants: Array<[string, EncryptedMessageContent]> = [
      ['type', { ...content, type: 'audio' }],
      ['sender_device_id', { ...content, sender_device_id: 'alice-laptop' }],
      ['sender_key_version', { ...content, sender_key_version: 3 }],
      ['ephemeral_public_key', { ...content, ephemeral_public_key: other.ephemeral_public_key }],
      ['encrypted_data', { ...content, encrypted_data: other.encrypted_data }],
      ['entry removed', { ...content, encrypted_key: [entry0] }],
      ['entry added', { ...content, encrypted_key: [...content.encrypted_key, { ...other.encrypted_key[0]!, device_id: 'x' }] }],
      ['entry user_id', { ...content, encrypted_key: [{ ...entry0, user_id: 'carol' }, content.encrypted_key[1]!] }],
      ['entry key_version', { ...content, encrypted_key: [{ ...entry0, key_version: 9 }, content.encrypted_key[1]!] }],
      ['entry wrapped_key', { ...content, encrypted_key: [{ ...entry0, wrapped_key: other.encrypted_key[0]!.wrapped_key }, content.encrypted_key[1]!] }],
      ['signature', { ...content, signature: other.signature! }],
    ];
    for (const [, variant] of variants) {
      expect(verifyMessageSignature(variant, CONV, 'alice', signingPublic())).toBe(false);
    }
    expect(verifyMessageSignature(content, 'conv-other', 'alice', signingPublic())).toBe(false);
    expect(verifyMessageSignature(content, CONV, 'bob', signingPublic())).toBe(false);
    // decryptMessage checks the signature before anything else
    expectCode(() => read(variants[6]![1], bobPhone, { senderSigningKey: signingPublic() }), 'SIGNATURE_INVALID');
    expectCode(() => read(content, bobPhone, { senderSigningKey: signingPublic(), conversationId: 'c2' }), 'SIGNATURE_INVALID');
  });

  it('a server that re-encrypts a forged message cannot produce a valid signature', () => {
    // anyone knowing the public keys can build a valid-looking envelope "from alice"
    const forged = encryptMessage({
      plaintext: 'forged',
      type: 'text',
      conversationId: CONV,
      senderId: 'alice',
      senderDevice: aliceKeys(),
      recipients: [recipient(bobPhone)],
      signingKey: getKeys(eve.keyring).signing!.secretKey,
    });
    expect(read(forged, bobPhone)).toBe('forged'); // why signatures matter
    expectCode(() => read(forged, bobPhone, { senderSigningKey: signingPublic() }), 'SIGNATURE_INVALID');
    const { signature: _dropped, ...unsigned } = forged;
    expectCode(() => read(unsigned, bobPhone, { senderSigningKey: signingPublic() }), 'SIGNATURE_MISSING');
  });

  it('rejects a signing key bundle of another device / key version and enforces requireSignature', () => {
    const content = send('signed', [bobPhone], { sign: true });
    expectCode(() => read(content, bobPhone, { senderSigningKey: toPublicKeyBundle(getKeys(aliceLaptop.keyring)) }), 'SIGNATURE_INVALID');
    expectCode(
      () => read(content, bobPhone, { senderSigningKey: { ...toPublicKeyBundle(aliceKeys()), key_version: 2 } }),
      'SIGNATURE_INVALID',
    );
    expectCode(() => read(content, bobPhone, { requireSignature: true }), 'INVALID_INPUT');
  });
});

describe('key rotation', () => {
  it('keeps old messages readable after the recipient rotates, until the old version is removed', () => {
    let dave: Device = device('dave', 'dave-phone');
    const before = send('before rotation', [dave]);
    dave = { ...dave, keyring: rotateKeyring(dave.keyring).keyring };
    const after = send('after rotation', [dave]);
    expect(after.encrypted_key[0]!.key_version).toBe(2);
    expect(read(before, dave)).toBe('before rotation');
    expect(read(after, dave)).toBe('after rotation');
    // a message wrapped for the new version cannot be read with only the old keys
    expectCode(() => read(after, dave, { myDevice: getKeys(dave.keyring, 1) }), 'UNKNOWN_KEY_VERSION');
    const pruned = { ...dave, keyring: removeKeyVersions(dave.keyring, [1]) };
    expect(read(after, pruned)).toBe('after rotation');
    expectCode(() => read(before, pruned), 'UNKNOWN_KEY_VERSION');
  });

  it('can wrap for two key versions of one device during a transition', () => {
    const { keyring } = rotateKeyring(createKeyring('erin-phone'));
    const erin: Device = { userId: 'erin', keyring };
    const content = encryptMessage({
      plaintext: 'both',
      type: 'text',
      conversationId: CONV,
      senderId: 'alice',
      senderDevice: aliceKeys(),
      recipients: keyring.keys.map((k) => ({ user_id: 'erin', ...toPublicKeyBundle(k) })),
    });
    expect(read(content, erin)).toBe('both');
    expect(read(content, erin, { myDevice: getKeys(keyring, 1) })).toBe('both');
  });

  it('sender key rotation: signatures verify with the key of the version named in the envelope', () => {
    const rotated = rotateKeyring(alicePhone.keyring).keyring;
    const v2 = getKeys(rotated, 2);
    const content = encryptMessage({
      plaintext: 'v2 signed',
      type: 'text',
      conversationId: CONV,
      senderId: 'alice',
      senderDevice: v2,
      recipients: [recipient(bobPhone)],
      signingKey: v2.signing!.secretKey,
    });
    expect(content.sender_key_version).toBe(2);
    expect(read(content, bobPhone, { senderSigningKey: toPublicKeyBundle(v2) })).toBe('v2 signed');
    expectCode(() => read(content, bobPhone, { senderSigningKey: toPublicKeyBundle(getKeys(rotated, 1)) }), 'SIGNATURE_INVALID');
  });
});

describe('specification conformance (docs/e2e-crypto.md)', () => {
  it('can be decrypted by an independent implementation of the documented construction', () => {
    const content = send('interop', [bobPhone], { type: 'text' });
    const bob = getKeys(bobPhone.keyring);
    const entry = content.encrypted_key[0]!;
    const E = base64ToBytes(content.ephemeral_public_key);
    const shared = x25519.getSharedSecret(bob.agreement.secretKey, E);
    const info = encodeFields([ALGORITHM, 'wrap-key', entry.user_id, entry.device_id, entry.key_version]);
    const kek = hkdf(sha256, shared, concatBytes(E, bob.agreement.publicKey), info, 32);
    const keyContext = encodeFields([ALGORITHM, 'message-key', CONV, 'alice', 'text', 'alice-phone', 1]);
    const wrapped = base64ToBytes(entry.wrapped_key);
    const contentKey = xchacha20poly1305(kek, wrapped.subarray(0, 24), encodeFields([ALGORITHM, 'wrap-key-ad', keyContext])).decrypt(
      wrapped.subarray(24),
    );
    const data = base64ToBytes(content.encrypted_data);
    const ad = encodeFields([ALGORITHM, 'message-data', CONV, 'alice', 'text', 'alice-phone', 1, content.ephemeral_public_key]);
    const plain = xchacha20poly1305(contentKey, data.subarray(0, 24), ad).decrypt(data.subarray(24));
    expect(bytesToUtf8(plain)).toBe('interop');
  });

  it('canonical field encoding is tag || u32be length || bytes', () => {
    expect(Array.from(encodeFields(['ab', 258, Uint8Array.of(9)]))).toEqual([
      0x01, 0, 0, 0, 2, 0x61, 0x62, 0x02, 0, 0, 1, 2, 0x03, 0, 0, 0, 1, 9,
    ]);
  });
});
