import { randomBytes } from '../crypto/random';
import { CryptoError } from '../crypto/errors';
import {
  DEFAULT_SCRYPT_PARAMS,
  backupIdOf,
  decryptBackupEntries,
  encryptBackupEntries,
  formatRecoveryKey,
  generateBackupKey,
  generateRecoveryKey,
  parseRecoveryKey,
  unwrapBackupKey,
  wrapWithPassphrase,
  wrapWithRecoveryKey,
} from './key-backup';

const ctx = { tenantId: 'acme', userId: 'alice' };
const FAST = { N: 2 ** 10, r: 8, p: 1 }; // tests only: the default is 2^17

const authFailed = (p: Promise<unknown>) => expect(p).rejects.toMatchObject({ code: 'AUTHENTICATION_FAILED' });

describe('key backup (SDK)', () => {
  it('formats a recovery key as 55 readable characters that parse back, tolerating case, spaces and look-alikes', () => {
    const { key, text } = generateRecoveryKey();
    expect(text).toMatch(/^([0-9A-HJKMNP-TV-Z]{5}-){10}[0-9A-HJKMNP-TV-Z]{5}$/);
    expect(parseRecoveryKey(text)).toEqual(key);
    expect(parseRecoveryKey(text.toLowerCase().replace(/-/g, ' '))).toEqual(key);
    const zeros = formatRecoveryKey(new Uint8Array(32));
    expect(parseRecoveryKey(zeros.replace(/0/g, 'O'))).toEqual(new Uint8Array(32));
    // One wrong character is caught by the checksum.
    const i = text.indexOf('-') - 1;
    const typo = text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
    expect(() => parseRecoveryKey(typo)).toThrow(CryptoError);
    expect(() => parseRecoveryKey('short')).toThrow(/55 characters/);
  });

  it('wraps the backup key with a recovery key; only that key, tenant and user unwrap it', async () => {
    const backupKey = generateBackupKey();
    const id = backupIdOf(backupKey);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const rk = generateRecoveryKey();
    const wrap = wrapWithRecoveryKey(backupKey, rk.key, ctx);
    expect(wrap.kind).toBe('recovery_key');
    expect(Buffer.from(wrap.wrapped_key, 'base64').includes(Buffer.from(backupKey))).toBe(false);
    expect(await unwrapBackupKey([wrap], { recoveryKey: rk.text }, ctx, id)).toEqual(backupKey);
    expect(await unwrapBackupKey([wrap], { recoveryKey: rk.key }, ctx, id)).toEqual(backupKey);

    await authFailed(unwrapBackupKey([wrap], { recoveryKey: generateRecoveryKey().key }, ctx, id));
    await authFailed(unwrapBackupKey([wrap], { recoveryKey: rk.key }, { ...ctx, userId: 'mallory' }, id));
    await authFailed(unwrapBackupKey([wrap], { recoveryKey: rk.key }, { ...ctx, tenantId: 'other' }, id));
    await authFailed(unwrapBackupKey([wrap], { recoveryKey: rk.key }, ctx, backupIdOf(generateBackupKey())));
    const flipped = Buffer.from(wrap.wrapped_key, 'base64');
    flipped[30] ^= 1;
    await authFailed(unwrapBackupKey([{ ...wrap, wrapped_key: flipped.toString('base64') }], { recoveryKey: rk.key }, ctx, id));
  });

  it('wraps with a passphrase (scrypt, parameters bound); a wrong passphrase or changed parameters fail', async () => {
    const backupKey = generateBackupKey();
    const id = backupIdOf(backupKey);
    const wrap = await wrapWithPassphrase(backupKey, 'correct horse battery staple', ctx, FAST);
    expect(wrap).toMatchObject({ kind: 'passphrase', scrypt: FAST });
    expect(await unwrapBackupKey([wrap], { passphrase: 'correct horse battery staple' }, ctx, id)).toEqual(backupKey);
    await authFailed(unwrapBackupKey([wrap], { passphrase: 'correct horse battery stapler' }, ctx, id));
    // A server lowering the cost does not get a weaker wrap: the parameters are in the associated data.
    if (wrap.kind !== 'passphrase') throw new Error('kind');
    await authFailed(unwrapBackupKey([{ ...wrap, scrypt: { ...wrap.scrypt, N: 2 ** 9 } }], { passphrase: 'correct horse battery staple' }, ctx, id));
    // Nor can it make a client allocate without bound.
    await expect(unwrapBackupKey([{ ...wrap, scrypt: { N: 2 ** 24, r: 8, p: 1 } }], { passphrase: 'correct horse battery staple' }, ctx, id)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(wrapWithPassphrase(backupKey, 'short', ctx, FAST)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    // The recovery key does not open a passphrase wrap, and the other way round.
    await authFailed(unwrapBackupKey([wrap], { recoveryKey: generateRecoveryKey().key }, ctx, id));
  });

  it('uses scrypt N=2^17, r=8, p=1 by default (about a second: each guess costs an attacker as much)', async () => {
    expect(DEFAULT_SCRYPT_PARAMS).toEqual({ N: 131072, r: 8, p: 1 });
    const backupKey = generateBackupKey();
    const t0 = performance.now();
    const wrap = await wrapWithPassphrase(backupKey, 'a long enough passphrase', ctx);
    const ms = performance.now() - t0;
    expect(wrap).toMatchObject({ scrypt: DEFAULT_SCRYPT_PARAMS });
    expect(await unwrapBackupKey([wrap], { passphrase: 'a long enough passphrase' }, ctx, backupIdOf(backupKey))).toEqual(backupKey);
    expect(ms).toBeGreaterThan(0);
  }, 120_000);

  it('encrypts epoch keys bound to tenant, user, group and epoch', () => {
    const backupKey = generateBackupKey();
    const keys = [
      { groupId: 'aa01', epoch: 1n, key: randomBytes(32) },
      { groupId: 'aa01', epoch: 2n, key: randomBytes(32) },
      { groupId: 'bb02', epoch: 1n, key: randomBytes(32) },
    ];
    const entries = encryptBackupEntries(backupKey, ctx, keys);
    expect(entries.map((e) => [e.group_id, e.epoch])).toEqual([['aa01', 1], ['aa01', 2], ['bb02', 1]]);
    for (const [i, e] of entries.entries()) expect(Buffer.from(e.ciphertext, 'base64').includes(Buffer.from(keys[i]!.key))).toBe(false);
    expect(decryptBackupEntries(backupKey, ctx, entries)).toEqual(keys);

    // The server moving an entry to another epoch, group or user, or using another backup key: refused.
    const moved = [{ ...entries[0]!, epoch: 2 }];
    expect(() => decryptBackupEntries(backupKey, ctx, moved)).toThrow(expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }));
    expect(() => decryptBackupEntries(backupKey, ctx, [{ ...entries[0]!, group_id: 'bb02' }])).toThrow(expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }));
    expect(() => decryptBackupEntries(backupKey, { ...ctx, userId: 'bob' }, entries)).toThrow(expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }));
    expect(() => decryptBackupEntries(generateBackupKey(), ctx, entries)).toThrow(expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }));
  });

  it('re-wrapping under a new recovery key keeps the same backup key, so entries stay readable', async () => {
    const backupKey = generateBackupKey();
    const entries = encryptBackupEntries(backupKey, ctx, [{ groupId: 'cc', epoch: 7n, key: randomBytes(32) }]);
    const [oldRk, newRk] = [generateRecoveryKey(), generateRecoveryKey()];
    wrapWithRecoveryKey(backupKey, oldRk.key, ctx);
    const rotated = wrapWithRecoveryKey(backupKey, newRk.key, ctx);
    const unwrapped = await unwrapBackupKey([rotated], { recoveryKey: newRk.text }, ctx, backupIdOf(backupKey));
    expect(decryptBackupEntries(unwrapped, ctx, entries)[0]!.epoch).toBe(7n);
    await authFailed(unwrapBackupKey([rotated], { recoveryKey: oldRk.text }, ctx, backupIdOf(backupKey)));
  });
});
