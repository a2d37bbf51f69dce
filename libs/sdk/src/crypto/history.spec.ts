import { bytesToUtf8 } from './encoding';
import { CryptoError } from './errors';
import { toPublicKeyBundle } from './identity';
import { createKeyring, getKeys, type DeviceKeyring } from './keyring';
import { reshareMessageKey } from './history';
import { decryptMessage, encryptMessage } from './message';

const CONV = 'conv-history';
const alice = createKeyring('alice-phone');
const bob = createKeyring('bob-phone');
const newcomer = createKeyring('nina-laptop');
const outsider = createKeyring('oscar-phone');
const rcpt = (userId: string, k: DeviceKeyring) => ({ user_id: userId, ...toPublicKeyBundle(getKeys(k)) });

const oldMessage = encryptMessage({
  plaintext: 'said before nina joined',
  type: 'text',
  conversationId: CONV,
  senderId: 'alice',
  senderDevice: getKeys(alice),
  recipients: [rcpt('alice', alice), rcpt('bob', bob)],
  signingKey: getKeys(alice).signing!.secretKey,
});
const base = { content: oldMessage, conversationId: CONV, senderId: 'alice' };

describe('history policy and re-sharing', () => {
  it('a member added later cannot read earlier messages', () => {
    expect(() => decryptMessage({ ...base, myUserId: 'nina', myDevice: newcomer })).toThrow(
      expect.objectContaining({ code: 'NO_WRAPPED_KEY' }),
    );
  });

  it('an existing member can re-share an old content key with the new member', () => {
    const share = reshareMessageKey({
      ...base,
      myUserId: 'bob',
      myDevice: bob,
      senderSigningKey: toPublicKeyBundle(getKeys(alice)),
      recipients: [rcpt('nina', newcomer)],
    });
    expect(share.encrypted_key).toEqual([expect.objectContaining({ user_id: 'nina', device_id: 'nina-laptop' })]);
    expect(share.ephemeral_public_key).not.toBe(oldMessage.ephemeral_public_key);
    const plain = decryptMessage({
      ...base,
      myUserId: 'nina',
      myDevice: newcomer,
      keyShare: share,
      senderSigningKey: toPublicKeyBundle(getKeys(alice)),
    });
    expect(bytesToUtf8(plain)).toBe('said before nina joined');
    // the share is useless for anyone else and for other conversations
    expect(() => decryptMessage({ ...base, myUserId: 'oscar', myDevice: outsider, keyShare: share })).toThrow(CryptoError);
    expect(() =>
      decryptMessage({ ...base, conversationId: 'elsewhere', myUserId: 'nina', myDevice: newcomer, keyShare: share }),
    ).toThrow(expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }));
  });

  it('a non-member cannot re-share', () => {
    expect(() =>
      reshareMessageKey({ ...base, myUserId: 'oscar', myDevice: outsider, recipients: [rcpt('nina', newcomer)] }),
    ).toThrow(expect.objectContaining({ code: 'NO_WRAPPED_KEY' }));
  });
});
