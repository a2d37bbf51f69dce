import { toPublicKeyBundle } from './identity';
import { unwrapKey, wrapKeyForRecipients } from './key-wrap';
import { createKeyring, getKeys } from './keyring';
import { randomBytes } from './random';

describe('wrapKeyForRecipients / unwrapKey', () => {
  const bob = createKeyring('bob-phone');
  const bobTablet = createKeyring('bob-tablet');
  const carol = createKeyring('carol-phone');
  const key = randomBytes(32);
  const set = wrapKeyForRecipients({
    key,
    recipients: [
      { user_id: 'bob', ...toPublicKeyBundle(getKeys(bob)) },
      { user_id: 'bob', ...toPublicKeyBundle(getKeys(bobTablet)) },
      { user_id: 'carol', public_key: getKeys(carol).agreement.publicKey, device_id: 'carol-phone', key_version: 1 },
    ],
    context: 'ctx',
  });

  it('every recipient device recovers the key', () => {
    expect(set.encrypted_key).toHaveLength(3);
    expect(unwrapKey({ ...set, myUserId: 'bob', myDevice: bob, context: 'ctx' })).toEqual(key);
    expect(unwrapKey({ ...set, myUserId: 'bob', myDevice: bobTablet, context: 'ctx' })).toEqual(key);
    expect(unwrapKey({ ...set, myUserId: 'carol', myDevice: carol, context: 'ctx' })).toEqual(key);
  });

  it('binds the context and the recipient identity', () => {
    expect(() => unwrapKey({ ...set, myUserId: 'bob', myDevice: bob, context: 'other' })).toThrow(
      expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }),
    );
    expect(() => unwrapKey({ ...set, myUserId: 'bob', myDevice: bob })).toThrow(
      expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }),
    );
    // swap wrapped keys between bob's two devices
    const [a, b, c] = set.encrypted_key;
    const swapped = [{ ...a!, wrapped_key: b!.wrapped_key }, { ...b!, wrapped_key: a!.wrapped_key }, c!];
    expect(() => unwrapKey({ ...set, encrypted_key: swapped, myUserId: 'bob', myDevice: bob, context: 'ctx' })).toThrow(
      expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }),
    );
    // re-labelling a key_version changes the derived KEK
    const relabelled = [{ ...a!, key_version: 2 }];
    const bob2 = { ...bob, keys: [{ ...getKeys(bob), key_version: 2 }], current_version: 2 };
    expect(() => unwrapKey({ ...set, encrypted_key: relabelled, myUserId: 'bob', myDevice: bob2, context: 'ctx' })).toThrow(
      expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }),
    );
  });

  it('rejects bad keys', () => {
    const r = [{ user_id: 'bob', ...toPublicKeyBundle(getKeys(bob)) }];
    expect(() => wrapKeyForRecipients({ key: randomBytes(16), recipients: r })).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT' }),
    );
    expect(() => unwrapKey({ ...set, ephemeral_public_key: 'AAAA', myUserId: 'bob', myDevice: bob })).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT' }),
    );
  });
});
