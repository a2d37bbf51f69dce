/* E2E v2 history through REST (real FerretDB, SDK devices over HTTP): key backup and recovery, the
 * reasons a device gives for history it cannot read, history visibility and bundles, and that the
 * server stores no key in the clear and never lets another user or tenant near a backup.
 * Content here is sealed directly under the epochs' history keys (MLS exporter output of real
 * groups): the proof is at the key level, independent of the v2 message format. */
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { mongo } from 'mongoose';
import { open, seal } from '../libs/sdk/src/crypto/aead';
import { encodeFields } from '../libs/sdk/src/crypto/canonical';
import { bytesToHex, utf8ToBytes, bytesToUtf8 } from '../libs/sdk/src/crypto/encoding';
import * as mls from '../libs/sdk/src/mls';
import { createTestApp, TestApp } from './support/test-app';
import { expectApiError, rid, sdkTenant, SdkTenant } from './e2e-helpers';

jest.setTimeout(180_000);

const FAST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 }; // tests only (the SDK's default is 2^17)

/** A stored "message": text sealed under its epoch's history key, bound to conversation and epoch. */
interface Sealed {
  epoch: bigint;
  ciphertext: Uint8Array;
}
const ad = (conversationId: string, epoch: bigint) => encodeFields(['test/history', conversationId, epoch.toString()]);
const sealText = (key: Uint8Array, conversationId: string, epoch: bigint, text: string): Sealed => ({ epoch, ciphertext: seal(key, utf8ToBytes(text), ad(conversationId, epoch)) });

/** What a device makes of stored history: the text, or the SDK's reason. */
async function readHistory(conversationId: string, groupId: string, msgs: Sealed[], store: mls.EpochKeyStore, history: mls.ConversationHistoryClient): Promise<string[]> {
  const out: string[] = [];
  for (const m of msgs) {
    const key = await store.get(groupId, m.epoch);
    if (!key) out.push(`!${await history.missingKeyReason(conversationId, { epoch: m.epoch })}`);
    else out.push(bytesToUtf8(open(key, m.ciphertext, ad(conversationId, m.epoch))));
  }
  return out;
}

describe('E2E v2 history: key backup, history visibility, bundles (real FerretDB, SDK over HTTP)', () => {
  let t: TestApp;
  let a: SdkTenant;
  let b: SdkTenant;
  beforeAll(async () => {
    t = await createTestApp({ env: { FILES_SWEEP_INTERVAL_SECONDS: '0' } });
    [a, b] = [await sdkTenant(t), await sdkTenant(t)];
  });
  afterAll(async () => t?.close());

  /** Alice (phone) and Bob (laptop) in a group whose MLS group went through epochs 1..3, one message each; Alice's phone kept the keys. */
  async function groupWithHistory(tenant: SdkTenant, extra: string[] = []) {
    const [alice, bob] = [rid('alice'), rid('bob')];
    const users = await tenant.users([alice, bob, ...extra]);
    const phone = await mls.MlsDevice.connect(users[alice]!.http, 'phone');
    const laptop = await mls.MlsDevice.connect(users[bob]!.http, 'laptop');
    await laptop.publishKeyPackages(2);
    const conv = await users[alice]!.createConversation({ type: 'group', name: 'history', member_ids: [bob] });
    const groupId = await phone.createGroup(conv.id, [bob]);
    await laptop.acceptWelcomes();
    const store = new mls.InMemoryEpochKeyStore();
    const msgs: Sealed[] = [];
    for (let i = 1; i <= 3; i++) {
      const { epoch, key } = await phone.client.exportEpochKey(groupId);
      await store.put(groupId, epoch, key);
      msgs.push(sealText(key, conv.id, epoch, `message of epoch ${epoch}`));
      if (i < 3) await phone.postCommit(conv.id, await phone.client.update(groupId));
    }
    expect(msgs.map((m) => m.epoch)).toEqual([1n, 2n, 3n]);
    return { alice, bob, users, phone, laptop, conv, groupId, store, msgs };
  }

  it("a user's third device restores the epoch keys with the recovery key and reads history it never saw; without it: key_not_backed_up", async () => {
    const g = await groupWithHistory(a);
    const ctx = { tenantId: a.tenant.tenantId, userId: g.alice };
    const backup = new mls.KeyBackupClient(g.users[g.alice]!.http, ctx);
    expect(await backup.status()).toBeNull();
    const { backupKey, recoveryKey } = await backup.create({ recoveryKey: true });
    expect(recoveryKey).toMatch(/^([0-9A-Z]{5}-){10}[0-9A-Z]{5}$/);
    expect(await backup.backUp(backupKey, g.store)).toBe(3);
    expect(await backup.status()).toMatchObject({ backup_id: mls.backupIdOf(backupKey), entry_count: 3 });
    const history = new mls.ConversationHistoryClient(g.users[g.alice]!.http, a.tenant.tenantId);

    // Device 3 (a new phone, or a browser whose storage was cleared): nothing but the recovery key.
    const device3 = new mls.InMemoryEpochKeyStore();
    expect(await readHistory(g.conv.id, g.groupId, g.msgs, device3, history)).toEqual(['!key_not_backed_up', '!key_not_backed_up', '!key_not_backed_up']);
    const restored = await new mls.KeyBackupClient(g.users[g.alice]!.http, ctx).restore({ recoveryKey: recoveryKey!.toLowerCase() }, device3);
    expect(restored.restored).toBe(3);
    expect(restored.backupKey).toEqual(backupKey);
    expect(await readHistory(g.conv.id, g.groupId, g.msgs, device3, history)).toEqual(['message of epoch 1', 'message of epoch 2', 'message of epoch 3']);

    // A wrong recovery key opens nothing.
    await expect(new mls.KeyBackupClient(g.users[g.alice]!.http, ctx).restore({ recoveryKey: mls.generateRecoveryKey().text }, new mls.InMemoryEpochKeyStore())).rejects.toMatchObject({
      code: 'AUTHENTICATION_FAILED',
    });

    // The server stores no key in the clear: not the epoch keys, the backup key or the recovery key, raw, base64 or hex.
    const conn = t.app.get<Connection>(getConnectionToken());
    const secrets = [...(await mls.allEpochKeys(g.store)).map((e) => e.key), backupKey, mls.parseRecoveryKey(recoveryKey!)];
    const needles = secrets.flatMap((k) => [Buffer.from(k), Buffer.from(Buffer.from(k).toString('base64')), Buffer.from(bytesToHex(k))]);
    let scanned = 0;
    for (const { name } of await conn.db!.listCollections().toArray()) {
      for (const doc of await conn.db!.collection(name).find({}).toArray()) {
        const bytes = Buffer.from(mongo.BSON.serialize(doc));
        scanned++;
        for (const n of needles) expect([name, bytes.includes(n)]).toEqual([name, false]);
      }
    }
    const entries = await conn.db!.collection('key_backup_entries').find({ tenant_id: a.tenant.tenantId, user_id: g.alice }).toArray();
    expect(entries).toHaveLength(3);
    expect(scanned).toBeGreaterThan(3);
    // The scan sees a key when one is there (a canary document).
    await conn.db!.collection('zz_canary').insertOne({ k: Buffer.from(backupKey).toString('base64') });
    const canary = await conn.db!.collection('zz_canary').findOne({});
    expect(Buffer.from(mongo.BSON.serialize(canary!)).includes(Buffer.from(Buffer.from(backupKey).toString('base64')))).toBe(true);
    await conn.db!.collection('zz_canary').drop();
  });

  it('passphrase restore; rotating the recovery key re-wraps only (entries stay, the old key stops working)', async () => {
    const g = await groupWithHistory(a);
    const ctx = { tenantId: a.tenant.tenantId, userId: g.alice };
    const backup = new mls.KeyBackupClient(g.users[g.alice]!.http, ctx);
    const { backupKey, recoveryKey } = await backup.create({ recoveryKey: true, passphrase: 'a passphrase long enough', scrypt: FAST_SCRYPT });
    await backup.backUp(backupKey, g.store);
    const byPass = new mls.InMemoryEpochKeyStore();
    expect((await backup.restore({ passphrase: 'a passphrase long enough' }, byPass)).restored).toBe(3);
    await expect(backup.restore({ passphrase: 'not the passphrase at all' }, new mls.InMemoryEpochKeyStore())).rejects.toMatchObject({ code: 'AUTHENTICATION_FAILED' });

    const before = await backup.status();
    const { recoveryKey: rotated } = await backup.rotateRecoveryKey(backupKey);
    const after = await backup.status();
    expect(after).toMatchObject({ backup_id: before!.backup_id, entry_count: 3 });
    expect(after!.wraps.map((w) => w.kind).sort()).toEqual(['passphrase', 'recovery_key']);
    await expect(backup.restore({ recoveryKey: recoveryKey! }, new mls.InMemoryEpochKeyStore())).rejects.toMatchObject({ code: 'AUTHENTICATION_FAILED' });
    const store = new mls.InMemoryEpochKeyStore();
    expect((await backup.restore({ recoveryKey: rotated }, store)).restored).toBe(3);
    expect(await readHistory(g.conv.id, g.groupId, g.msgs, store, new mls.ConversationHistoryClient(g.users[g.alice]!.http, a.tenant.tenantId))).toEqual([
      'message of epoch 1',
      'message of epoch 2',
      'message of epoch 3',
    ]);
    // The passphrase still works after the rotation.
    expect((await backup.restore({ passphrase: 'a passphrase long enough' }, new mls.InMemoryEpochKeyStore())).restored).toBe(3);
  });

  it('a member added later: not_a_member_then before the join; with shared visibility a bundle gives the earlier keys, with joined it is refused', async () => {
    const carol = rid('carol');
    const g = await groupWithHistory(a, [carol]);
    const aliceHistory = new mls.ConversationHistoryClient(g.users[g.alice]!.http, a.tenant.tenantId);
    const carolHistory = new mls.ConversationHistoryClient(g.users[carol]!.http, a.tenant.tenantId);
    expect(await aliceHistory.info(g.conv.id)).toMatchObject({ history_visibility: 'joined', joined_epoch: 1 }); // her device created the group

    await g.users[g.alice]!.addMembers(g.conv.id, [carol]);
    const carolDev = await mls.MlsDevice.connect(g.users[carol]!.http, 'tablet');
    await carolDev.publishKeyPackages(1);
    expect(await carolHistory.info(g.conv.id)).toMatchObject({ history_visibility: 'joined', joined_epoch: 3 });

    // joined (the default): nothing earlier is shared, and the server refuses a bundle.
    const [kp] = await g.phone.claimKeyPackages(carol);
    expect(await g.phone.postCommit(g.conv.id, await g.phone.client.addMembers(g.groupId, [kp!]))).toBe(4);
    const at4 = await g.phone.client.exportEpochKey(g.groupId);
    await g.store.put(g.groupId, at4.epoch, at4.key);
    expect(await aliceHistory.shareAfterAdd({ conversationId: g.conv.id, groupId: g.groupId, epoch: at4.epoch, deviceId: 'phone', epochKey: at4.key, store: g.store })).toBeNull();
    await expectApiError(
      g.users[g.alice]!.http.post(`/v1/conversations/${g.conv.id}/mls/history/bundles`, { device_id: 'phone', group_id: g.groupId, epoch: 4, ciphertext: 'AAAA' }),
      403,
      'forbidden',
    );
    await carolDev.acceptWelcomes();
    const carolStore = new mls.InMemoryEpochKeyStore();
    const mine = await carolDev.client.exportEpochKey(g.groupId);
    expect(mine).toEqual(at4);
    await carolStore.put(g.groupId, mine.epoch, mine.key);
    expect(await carolHistory.receiveBundles(g.conv.id, carolStore)).toBe(0);
    expect(await readHistory(g.conv.id, g.groupId, g.msgs, carolStore, carolHistory)).toEqual(['!not_a_member_then', '!not_a_member_then', '!key_not_backed_up']);

    // Only owners and admins change the setting.
    await expectApiError(carolHistory.setVisibility(g.conv.id, 'shared'), 403, 'forbidden');
    expect(await aliceHistory.setVisibility(g.conv.id, 'shared')).toMatchObject({ history_visibility: 'shared' });

    // shared: Alice's device, having added Carol at epoch 4, shares epochs 1-3 sealed under epoch 4's key.
    expect(await aliceHistory.shareAfterAdd({ conversationId: g.conv.id, groupId: g.groupId, epoch: at4.epoch, deviceId: 'phone', epochKey: at4.key, store: g.store })).toMatchObject({ epochs: 3 });
    expect(await carolHistory.receiveBundles(g.conv.id, carolStore)).toBe(3);
    expect(await readHistory(g.conv.id, g.groupId, g.msgs, carolStore, carolHistory)).toEqual(['message of epoch 1', 'message of epoch 2', 'message of epoch 3']);

    // A user of the same tenant who is not a member sees no bundle; nor does another tenant.
    const [eve] = [rid('eve')];
    const eveClient = (await a.users([eve]))[eve]!;
    await expectApiError(eveClient.http.get(`/v1/conversations/${g.conv.id}/mls/history/bundles`), 404, 'not_found');
    const other = (await b.users([carol]))[carol]!;
    await expectApiError(other.http.get(`/v1/conversations/${g.conv.id}/mls/history/bundles`), 404, 'not_found');
    await expectApiError(other.http.get(`/v1/conversations/${g.conv.id}/mls/history`), 404, 'not_found');
  });

  it('a backup is its owner\'s alone: other users and the same user id in another tenant see none of it', async () => {
    const [alice, bob] = [rid('alice'), rid('bob')];
    const users = await a.users([alice, bob]);
    const backup = new mls.KeyBackupClient(users[alice]!.http, { tenantId: a.tenant.tenantId, userId: alice });
    const { backupKey } = await backup.create({ recoveryKey: true });
    await backup.upload(backupKey, [{ groupId: 'abcd', epoch: 1n, key: new Uint8Array(32).fill(7) }]);

    // Bob, same tenant: his own (empty) backup only; he cannot write into Alice's.
    await expectApiError(users[bob]!.http.get('/v1/me/key-backup'), 404, 'not_found');
    await expectApiError(users[bob]!.http.get('/v1/me/key-backup/entries'), 404, 'not_found');
    await expectApiError(users[bob]!.http.post('/v1/me/key-backup/entries', { backup_id: mls.backupIdOf(backupKey), entries: [{ group_id: 'abcd', epoch: 2, ciphertext: 'AAAA' }] }), 404, 'not_found');
    // The same external id in tenant B is another user.
    const aliceB = (await b.users([alice]))[alice]!;
    await expectApiError(aliceB.http.get('/v1/me/key-backup'), 404, 'not_found');
    const mineB = new mls.KeyBackupClient(aliceB.http, { tenantId: b.tenant.tenantId, userId: alice });
    await mineB.create({ recoveryKey: true });
    expect(await backup.status()).toMatchObject({ backup_id: mls.backupIdOf(backupKey), entry_count: 1 });
    expect((await mineB.status())!.entry_count).toBe(0);
    // Alice's entries in tenant A are bound to tenant A: tenant B's context does not open them.
    const page = await users[alice]!.http.get<{ data: mls.BackupEntry[] }>('/v1/me/key-backup/entries');
    expect(() => mls.decryptBackupEntries(backupKey, { tenantId: b.tenant.tenantId, userId: alice }, page.data)).toThrow(expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }));

    // Right to erasure: deleting the user in tenant A erases A's backup, not B's same-named user's.
    const conn = t.app.get<Connection>(getConnectionToken());
    const count = async (tenantId: string) =>
      (await conn.db!.collection('key_backups').countDocuments({ tenant_id: tenantId, user_id: alice })) + (await conn.db!.collection('key_backup_entries').countDocuments({ tenant_id: tenantId, user_id: alice }));
    expect(await count(a.tenant.tenantId)).toBe(2);
    await a.server.deleteUser(alice);
    expect([await count(a.tenant.tenantId), await count(b.tenant.tenantId)]).toEqual([0, 1]);
  });

  it('bad input is a 4xx: shapes, another backup key, duplicates, bounds; replace starts over; delete erases', async () => {
    const [alice] = [rid('alice')];
    const users = await a.users([alice]);
    const http = users[alice]!.http;
    const ctx = { tenantId: a.tenant.tenantId, userId: alice };
    await expectApiError(http.post('/v1/me/key-backup/entries', { backup_id: 'a'.repeat(32), entries: [{ group_id: 'ab', epoch: 1, ciphertext: 'AAAA' }] }), 404, 'not_found');
    await expectApiError(http.put('/v1/me/key-backup', { backup_id: 'nothex', wraps: [] }), 400, 'validation_failed');
    const key = mls.generateBackupKey();
    const wrap = mls.wrapWithRecoveryKey(key, mls.generateRecoveryKey().key, ctx);
    const id = mls.backupIdOf(key);
    await expectApiError(http.put('/v1/me/key-backup', { backup_id: id, wraps: [] }), 400, 'validation_failed');
    await expectApiError(http.put('/v1/me/key-backup', { backup_id: id, wraps: [{ ...wrap, kind: 'passphrase' }] }), 400, 'validation_failed');
    await expectApiError(http.put('/v1/me/key-backup', { backup_id: id, wraps: [{ ...wrap, salt: 'short' }] }), 400, 'validation_failed');
    expect(await http.put('/v1/me/key-backup', { backup_id: id, wraps: [wrap] })).toMatchObject({ backup_id: id, entry_count: 0 });

    const entry = (epoch: number) => mls.encryptBackupEntries(key, ctx, [{ groupId: 'ab', epoch: BigInt(epoch), key: new Uint8Array(32) }])[0]!;
    await expectApiError(http.post('/v1/me/key-backup/entries', { backup_id: id, entries: [entry(1), entry(1)] }), 400, 'validation_failed');
    await expectApiError(http.post('/v1/me/key-backup/entries', { backup_id: id, entries: [{ ...entry(1), ciphertext: 'not base64!' }] }), 400, 'validation_failed');
    await expectApiError(http.post('/v1/me/key-backup/entries', { backup_id: id, entries: [{ ...entry(1), epoch: -1 }] }), 400, 'validation_failed');
    await expectApiError(http.post('/v1/me/key-backup/entries', { backup_id: id, entries: Array.from({ length: 501 }, (_, i) => entry(i)) }), 400, 'validation_failed');
    await expectApiError(http.get('/v1/me/key-backup/entries', { cursor: 'x' }), 400, 'validation_failed');
    expect(await http.post('/v1/me/key-backup/entries', { backup_id: id, entries: [entry(1), entry(2)] })).toEqual({ stored: 2, entry_count: 2 });
    expect(await http.post('/v1/me/key-backup/entries', { backup_id: id, entries: [entry(2)] })).toEqual({ stored: 1, entry_count: 2 });

    // Another backup key: 409 naming the current one, unless replace (which drops the old entries).
    const key2 = mls.generateBackupKey();
    const body2 = { backup_id: mls.backupIdOf(key2), wraps: [mls.wrapWithRecoveryKey(key2, mls.generateRecoveryKey().key, ctx)] };
    const conflict = await expectApiError(http.put('/v1/me/key-backup', body2), 409, 'conflict');
    expect(conflict.details).toEqual({ backup_id: id });
    await expectApiError(http.post('/v1/me/key-backup/entries', { backup_id: mls.backupIdOf(key2), entries: [entry(3)] }), 409, 'conflict');
    expect(await http.put('/v1/me/key-backup', { ...body2, replace: true })).toMatchObject({ backup_id: mls.backupIdOf(key2), entry_count: 0 });
    await expectApiError(http.post('/v1/me/key-backup/entries', { backup_id: id, entries: [entry(3)] }), 409, 'conflict');

    // History routes: bad values and bad bundles.
    const conv = await users[alice]!.createConversation({ type: 'group', name: 'x', member_ids: [] });
    await expectApiError(http.put(`/v1/conversations/${conv.id}/mls/history`, { history_visibility: 'everyone' }), 400, 'validation_failed');
    await http.put(`/v1/conversations/${conv.id}/mls/history`, { history_visibility: 'shared' });
    await expectApiError(http.post(`/v1/conversations/${conv.id}/mls/history/bundles`, { device_id: 'd', group_id: 'zz', epoch: 1, ciphertext: 'AAAA' }), 400, 'validation_failed');
    await expectApiError(http.post(`/v1/conversations/${conv.id}/mls/history/bundles`, { device_id: 'd', group_id: 'ab', epoch: 1, ciphertext: 'AAAA' }), 404, 'not_found'); // no MLS group yet

    await http.delete('/v1/me/key-backup');
    await expectApiError(http.get('/v1/me/key-backup'), 404, 'not_found');
    const conn = t.app.get<Connection>(getConnectionToken());
    expect(await conn.db!.collection('key_backup_entries').countDocuments({ tenant_id: a.tenant.tenantId, user_id: alice })).toBe(0);
  });
});
