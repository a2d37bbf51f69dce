/* E2E v2 (MLS): the server as Delivery Service, driven over real HTTP by SDK devices (ts-mls in
 * process). Key packages are checked and claimed once; commits are ordered by epoch; Welcomes reach
 * the devices they are for; application messages are stored as opaque bytes. */
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { base64ToBytes, bytesToBase64, ChatUserClient } from '@chat/sdk';
import * as mls from '../libs/sdk/src/mls';
import { createTestApp, TestApp } from './support/test-app';
import { expectApiError, rid, sdkTenant, SdkTenant } from './e2e-helpers';

jest.setTimeout(60_000);

describe('MLS Delivery Service (real FerretDB, SDK devices over HTTP)', () => {
  let t: TestApp;
  let a: SdkTenant;
  let b: SdkTenant;
  beforeAll(async () => {
    t = await createTestApp({ env: { FILES_SWEEP_INTERVAL_SECONDS: '0' } });
    [a, b] = [await sdkTenant(t), await sdkTenant(t)];
  });
  afterAll(async () => t?.close());

  const groupConv = (owner: ChatUserClient, members: string[]) => owner.createConversation({ type: 'group', name: 'mls', member_ids: members });

  it('two users: key packages, group creation, Welcome, join, an MLS message stored as opaque bytes', async () => {
    const [alice, bob] = [rid('alice'), rid('bob')];
    const users = await a.users([alice, bob]);
    const aliceDev = await mls.MlsDevice.connect(users[alice]!.http, 'phone');
    const bobDev = await mls.MlsDevice.connect(users[bob]!.http, 'laptop');
    expect(bobDev.client.identity).toEqual({ tenantId: a.tenant.tenantId, userId: bob, deviceId: 'laptop' });

    expect(await aliceDev.publishKeyPackages(2, { lastResort: true })).toMatchObject({ one_time: 2, last_resort: true });
    expect(await bobDev.publishKeyPackages(3)).toMatchObject({ one_time: 3, last_resort: false });

    const conv = await groupConv(users[alice]!, [bob]);
    const groupId = await aliceDev.createGroup(conv.id, [bob]);
    expect(await bobDev.http.get(`/v1/me/devices/laptop/mls/key-packages`)).toMatchObject({ one_time: 2 });
    const group = await users[bob]!.http.get<{ group_id: string; epoch: number; group_info: string }>(`/v1/conversations/${conv.id}/mls`);
    expect(group).toMatchObject({ group_id: groupId, epoch: 1 });
    expect(mls.inspectGroupInfo(base64ToBytes(group.group_info))).toEqual({ groupId, epoch: 1n });

    // Bob's device finds its Welcome, joins, and the inbox is empty afterwards.
    expect(await bobDev.acceptWelcomes()).toEqual([conv.id]);
    expect(await bobDev.http.get<{ data: unknown[] }>('/v1/me/devices/laptop/mls/welcomes')).toEqual({ data: [] });
    expect(bobDev.client.epoch(groupId)).toBe(1n);

    const sent = await aliceDev.send(conv.id, 'hello bob, over MLS');
    expect(await bobDev.sync(conv.id)).toEqual([expect.objectContaining({ id: sent.id, sender_user_id: alice, text: 'hello bob, over MLS' })]);
    await bobDev.send(conv.id, 'hi alice');
    expect((await aliceDev.sync(conv.id)).map((m) => m.text)).toEqual(['hi alice']);

    // The server holds the ciphertext only: the stored bytes are the MLS PrivateMessage, no plaintext.
    const conn = t.app.get<Connection>(getConnectionToken());
    const stored = await conn.db!.collection('mls_messages').find({ tenant_id: a.tenant.tenantId, conversation_id: conv.id, kind: 'application' }).toArray();
    expect(stored).toHaveLength(2);
    for (const doc of stored) {
      expect(mls.inspectGroupMessage(base64ToBytes(doc.message as string))).toMatchObject({ kind: 'application', wireformat: 'mls_private_message', groupId });
      expect(Buffer.from(doc.message as string, 'base64').toString('latin1')).not.toMatch(/hello bob|hi alice/);
    }
    // A commit's bytes are stored once, in the conversation's seq stream (where devices read them);
    // the DS keeps a record of who committed which epoch, without the bytes.
    const commits = await conn.db!.collection('mls_messages').find({ tenant_id: a.tenant.tenantId, conversation_id: conv.id, kind: 'commit' }).toArray();
    expect(commits).toEqual([expect.objectContaining({ epoch: 0, sender_user_id: alice, sender_device_id: 'phone' })]);
    expect(commits[0]).not.toHaveProperty('message');
    const stream = await users[bob]!.history(conv.id);
    expect(stream.data.filter((m) => (m.content as { type?: string } | null)?.type === 'mls_commit')).toHaveLength(1);
    const log = await users[bob]!.http.get<{ data: Array<{ kind: string }> }>(`/v1/conversations/${conv.id}/mls/messages`);
    expect(log.data.map((m) => m.kind)).toEqual(['application', 'application']);
  });

  it('refuses a commit for a stale epoch with 409 conflict; the loser catches up and retries', async () => {
    const [alice, bob] = [rid('alice'), rid('bob')];
    const users = await a.users([alice, bob]);
    const aliceDev = await mls.MlsDevice.connect(users[alice]!.http, 'phone');
    const bobDev = await mls.MlsDevice.connect(users[bob]!.http, 'laptop');
    await bobDev.publishKeyPackages(1);
    const conv = await groupConv(users[alice]!, [bob]);
    const groupId = await aliceDev.createGroup(conv.id, [bob]);
    await bobDev.acceptWelcomes();

    // Both commit at epoch 1; the server takes alice's and refuses bob's, naming the current epoch.
    const fromAlice = await aliceDev.client.update(groupId);
    const fromBob = await bobDev.client.update(groupId);
    expect(await aliceDev.postCommit(conv.id, fromAlice)).toBe(2);
    const conflict = await expectApiError(bobDev.postCommit(conv.id, fromBob), 409, 'conflict');
    expect(conflict.details).toMatchObject({ epoch: 2, commit_epoch: 1 });
    expect(bobDev.client.epoch(groupId)).toBe(1n);
    // A replay of the accepted commit is refused too.
    await expectApiError(
      users[alice]!.http.post(`/v1/conversations/${conv.id}/mls/commits`, { device_id: 'phone', commit: bytesToBase64(fromAlice.commit), group_info: bytesToBase64(fromAlice.groupInfo) }),
      409,
      'conflict',
    );

    await bobDev.sync(conv.id); // applies alice's commit
    expect(bobDev.client.epoch(groupId)).toBe(2n);
    expect(await bobDev.postCommit(conv.id, await bobDev.client.update(groupId))).toBe(3);
    await aliceDev.sync(conv.id);
    expect(aliceDev.client.epoch(groupId)).toBe(3n);
    await aliceDev.send(conv.id, 'still in sync');
    expect((await bobDev.sync(conv.id)).map((m) => m.text)).toEqual(['still in sync']);
  });

  it('of concurrent commits for one epoch, exactly one is accepted', async () => {
    const [alice, bob, carol] = [rid('alice'), rid('bob'), rid('carol')];
    const users = await a.users([alice, bob, carol]);
    const devs = [await mls.MlsDevice.connect(users[alice]!.http, 'phone'), await mls.MlsDevice.connect(users[bob]!.http, 'laptop'), await mls.MlsDevice.connect(users[carol]!.http, 'tab')];
    await devs[1]!.publishKeyPackages(1);
    await devs[2]!.publishKeyPackages(1);
    const conv = await groupConv(users[alice]!, [bob, carol]);
    const groupId = await devs[0]!.createGroup(conv.id, [bob, carol]);
    await devs[1]!.acceptWelcomes();
    await devs[2]!.acceptWelcomes();
    for (let round = 0; round < 3; round++) {
      const outs = await Promise.all(devs.map((d) => d.client.update(groupId)));
      const results = await Promise.allSettled(devs.map((d, i) => d.postCommit(conv.id, outs[i]!)));
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ status: 409, code: 'conflict' });
      for (const d of devs) await d.sync(conv.id);
      expect(devs.map((d) => d.client.epoch(groupId))).toEqual(Array(3).fill(BigInt(2 + round)));
    }
  });

  it('a member added to the conversation joins by external commit; an external commit must add the caller', async () => {
    const [alice, bob, dave] = [rid('alice'), rid('bob'), rid('dave')];
    const users = await a.users([alice, bob, dave]);
    const aliceDev = await mls.MlsDevice.connect(users[alice]!.http, 'phone');
    const bobDev = await mls.MlsDevice.connect(users[bob]!.http, 'laptop');
    const daveDev = await mls.MlsDevice.connect(users[dave]!.http, 'web');
    await bobDev.publishKeyPackages(1);
    const conv = await groupConv(users[alice]!, [bob]);
    const groupId = await aliceDev.createGroup(conv.id, [bob]);
    await bobDev.acceptWelcomes();

    // Not a member of the conversation yet: the group is invisible to dave.
    await expectApiError(daveDev.joinExternal(conv.id), 404, 'not_found');
    await users[alice]!.addMembers(conv.id, [dave]);
    // A joiner's commit naming another device than the caller's is refused.
    const info = await users[dave]!.http.get<{ group_info: string }>(`/v1/conversations/${conv.id}/mls`);
    const impostor = await mls.MlsClient.create({ tenantId: a.tenant.tenantId, userId: dave, deviceId: 'other' });
    const forged = await impostor.joinExternal(base64ToBytes(info.group_info));
    await expectApiError(
      users[dave]!.http.post(`/v1/conversations/${conv.id}/mls/commits`, { device_id: 'web', commit: bytesToBase64(forged.commit), group_info: bytesToBase64(forged.groupInfo) }),
      403,
      'forbidden',
    );

    expect(await daveDev.joinExternal(conv.id)).toBe(2);
    await aliceDev.sync(conv.id);
    await bobDev.sync(conv.id);
    expect(aliceDev.client.members(groupId).map((m) => m.userId)).toEqual([alice, bob, dave]);
    await daveDev.send(conv.id, 'dave here');
    expect((await aliceDev.sync(conv.id)).map((m) => m.text)).toEqual(['dave here']);
    expect((await bobDev.sync(conv.id)).map((m) => m.text)).toEqual(['dave here']);
  });

  it("refuses a key package with someone else's identity (403) and malformed ones (400)", async () => {
    const [alice, bob] = [rid('alice'), rid('bob')];
    const users = await a.users([alice, bob]);
    const post = (c: ChatUserClient, device: string, kp: Uint8Array) => c.http.post(`/v1/me/devices/${device}/mls/key-packages`, { key_packages: [bytesToBase64(kp)] });

    const bobClient = await mls.MlsClient.create({ tenantId: a.tenant.tenantId, userId: bob, deviceId: 'laptop' });
    const [bobKp] = await bobClient.generateKeyPackages(1);
    const denied = await expectApiError(post(users[alice]!, 'laptop', bobKp!), 403, 'forbidden');
    expect(denied.details).toMatchObject({ expected_identity: `${a.tenant.tenantId}/${alice}/laptop` });
    // Right user, other device; right user and device, other tenant.
    await expectApiError(post(users[bob]!, 'phone', bobKp!), 403, 'forbidden');
    const otherTenant = await mls.MlsClient.create({ tenantId: b.tenant.tenantId, userId: bob, deviceId: 'laptop' });
    await expectApiError(post(users[bob]!, 'laptop', (await otherTenant.generateKeyPackages(1))[0]!), 403, 'forbidden');
    // Forged signature, garbage, a non-key-package MLS message, bad device id, nothing at all.
    const forged = bobKp!.slice();
    forged[forged.length - 3]! ^= 1;
    await expectApiError(post(users[bob]!, 'laptop', forged), 400, 'validation_failed');
    await expectApiError(post(users[bob]!, 'laptop', new Uint8Array([0, 1, 2, 3])), 400, 'validation_failed');
    await expectApiError(post(users[bob]!, 'laptop', await bobClient.groupInfo(await bobClient.createGroup())), 400, 'validation_failed');
    await expectApiError(post(users[bob]!, 'bad device!', bobKp!), 400, 'validation_failed');
    await expectApiError(users[bob]!.http.post('/v1/me/devices/laptop/mls/key-packages', {}), 400, 'validation_failed');
    // The genuine one is accepted.
    expect(await post(users[bob]!, 'laptop', bobKp!)).toMatchObject({ one_time: 1 });
  });

  it('concurrent claims never hand out the same one-time key package; the last-resort one is not consumed', async () => {
    const [carol, ...claimers] = [rid('carol'), rid('c1'), rid('c2'), rid('c3'), rid('c4')];
    const users = await a.users([carol!, ...claimers]);
    const carolDev = await mls.MlsDevice.connect(users[carol!]!.http, 'tab');
    await carolDev.publishKeyPackages(5, { lastResort: true });
    const claims = await Promise.all(
      [...claimers, ...claimers].map((u) => users[u]!.http.post<{ data: Array<{ key_package: string; last_resort: boolean; device_id: string }> }>(`/v1/users/${carol}/mls/key-packages/claim`)),
    );
    const got = claims.map((c) => c.data[0]!);
    const oneTime = got.filter((k) => !k.last_resort).map((k) => k.key_package);
    expect(oneTime).toHaveLength(5);
    expect(new Set(oneTime).size).toBe(5);
    expect(got.filter((k) => k.last_resort)).toHaveLength(3);
    expect(new Set(got.filter((k) => k.last_resort).map((k) => k.key_package)).size).toBe(1);
    expect(await carolDev.http.get('/v1/me/devices/tab/mls/key-packages')).toEqual({ device_id: 'tab', one_time: 0, last_resort: true });
    // A new last-resort package replaces the old one.
    const oldLastResort = got.find((k) => k.last_resort)!.key_package;
    await carolDev.publishKeyPackages(0, { lastResort: true });
    const next = await users[claimers[0]!]!.http.post<{ data: Array<{ key_package: string; last_resort: boolean }> }>(`/v1/users/${carol}/mls/key-packages/claim`);
    expect(next.data).toEqual([expect.objectContaining({ last_resort: true })]);
    expect(next.data[0]!.key_package).not.toBe(oldLastResort);
    const conn = t.app.get<Connection>(getConnectionToken());
    expect(await conn.db!.collection('mls_key_packages').countDocuments({ tenant_id: a.tenant.tenantId, user_id: carol, last_resort: true })).toBe(1);
  });

  it('validates commits and messages in the error shape', async () => {
    const [alice, bob] = [rid('alice'), rid('bob')];
    const users = await a.users([alice, bob]);
    const http = users[alice]!.http;
    const aliceDev = await mls.MlsDevice.connect(http, 'phone');
    const bobDev = await mls.MlsDevice.connect(users[bob]!.http, 'laptop');
    await bobDev.publishKeyPackages(1);
    const conv = await groupConv(users[alice]!, [bob]);
    const b64 = bytesToBase64;

    // No group yet: nothing to read or post messages to; a first commit must be for epoch 0.
    await expectApiError(http.get(`/v1/conversations/${conv.id}/mls`), 404, 'not_found');
    const lone = await mls.MlsClient.create(aliceDev.client.identity);
    const loneGroup = await lone.createGroup();
    await expectApiError(http.post(`/v1/conversations/${conv.id}/mls/messages`, { device_id: 'phone', message: b64(await lone.encrypt(loneGroup, 'x')) }), 404, 'not_found');
    const first = await lone.update(loneGroup);
    const second = await lone.update(loneGroup).catch(() => null);
    expect(second).toBeNull(); // one pending commit at a time
    lone.mergePendingCommit(loneGroup);
    const atEpoch1 = await lone.update(loneGroup);
    lone.discardPendingCommit(loneGroup);
    const commit = (c: { commit: Uint8Array; groupInfo: Uint8Array }, extra: Record<string, unknown> = {}) =>
      http.post(`/v1/conversations/${conv.id}/mls/commits`, { device_id: 'phone', commit: b64(c.commit), group_info: b64(c.groupInfo), ...extra });
    const tooNew = await expectApiError(commit(atEpoch1), 409, 'conflict');
    expect(tooNew.details).toMatchObject({ epoch: 0, commit_epoch: 1 });

    // Wrong kinds of bytes and mismatched GroupInfo are 400s.
    await expectApiError(commit({ commit: first.groupInfo, groupInfo: first.groupInfo }), 400, 'validation_failed');
    await expectApiError(commit({ commit: first.commit, groupInfo: first.commit }), 400, 'validation_failed');
    await expectApiError(commit({ commit: first.commit, groupInfo: atEpoch1.groupInfo }), 400, 'validation_failed');
    await expectApiError(commit(first, { welcome: b64(new Uint8Array([9, 9, 9])) }), 400, 'validation_failed');
    await expectApiError(commit(first, { commit: 'not base64!' }), 400, 'validation_failed');
    await expectApiError(commit(first, { device_id: 'bad device!' }), 400, 'validation_failed');

    // The real group: an application message must be one, of this group, of an epoch it reached.
    const groupId = await aliceDev.createGroup(conv.id, [bob]);
    const post = (m: Uint8Array) => http.post(`/v1/conversations/${conv.id}/mls/messages`, { device_id: 'phone', message: b64(m) });
    await expectApiError(post(await lone.encrypt(loneGroup, 'other group')), 400, 'validation_failed');
    await expectApiError(post(first.commit), 400, 'validation_failed');
    const ahead = await aliceDev.client.update(groupId);
    aliceDev.client.mergePendingCommit(groupId); // not posted: the server's group is still at epoch 1
    const future = await expectApiError(post(await aliceDev.client.encrypt(groupId, 'from epoch 2')), 409, 'conflict');
    expect(future.details).toMatchObject({ epoch: 1 });
    expect(ahead.epoch).toBe(1n);
    await expectApiError(http.get(`/v1/conversations/${conv.id}/mls/messages?limit=0`), 400, 'validation_failed');
    await expectApiError(http.get(`/v1/conversations/${conv.id}/mls/messages?after=zzz`), 400, 'validation_failed');
  });

  it('stores a Welcome once for every device it names and drops it with the last inbox entry', async () => {
    const [alice, bob, carol] = [rid('alice'), rid('bob'), rid('carol')];
    const users = await a.users([alice, bob, carol]);
    const aliceDev = await mls.MlsDevice.connect(users[alice]!.http, 'phone');
    const joiners = [
      await mls.MlsDevice.connect(users[bob]!.http, 'phone'),
      await mls.MlsDevice.connect(users[bob]!.http, 'laptop'),
      await mls.MlsDevice.connect(users[carol]!.http, 'tab'),
    ];
    for (const d of joiners) await d.publishKeyPackages(1);
    const conv = await groupConv(users[alice]!, [bob, carol]);
    const groupId = await aliceDev.createGroup(conv.id, [bob, carol]);
    const conn = t.app.get<Connection>(getConnectionToken());
    const entries = await conn.db!.collection('mls_welcomes').find({ tenant_id: a.tenant.tenantId, conversation_id: conv.id }).toArray();
    expect(entries).toHaveLength(3);
    const welcomeIds = new Set(entries.map((e) => String(e.welcome_id)));
    expect(welcomeIds.size).toBe(1);
    const blobs = () => conn.db!.collection('mls_welcome_blobs').countDocuments({ tenant_id: a.tenant.tenantId, _id: entries[0]!.welcome_id });
    expect(await blobs()).toBe(1);
    // Each entry hands out the GroupInfo of the Welcome's epoch too (the ratchet tree of large groups).
    const inbox = await joiners[0]!.http.get<{ data: Array<{ group_info: string }> }>('/v1/me/devices/phone/mls/welcomes');
    const group = await users[bob]!.http.get<{ group_info: string }>(`/v1/conversations/${conv.id}/mls`);
    expect(inbox.data.map((w) => w.group_info)).toEqual([group.group_info]);
    for (const [i, d] of joiners.entries()) {
      expect(await d.acceptWelcomes()).toEqual([conv.id]);
      expect(d.client.epoch(groupId)).toBe(1n);
      expect(await blobs()).toBe(i < joiners.length - 1 ? 1 : 0);
    }
  });

  it("erases a deleted user's key packages and Welcomes", async () => {
    const [alice, gone] = [rid('alice'), rid('gone')];
    const users = await a.users([alice, gone]);
    const aliceDev = await mls.MlsDevice.connect(users[alice]!.http, 'phone');
    const goneDev = await mls.MlsDevice.connect(users[gone]!.http, 'd1');
    await goneDev.publishKeyPackages(3, { lastResort: true });
    const conv = await groupConv(users[alice]!, [gone]);
    await aliceDev.createGroup(conv.id, [gone]);
    const conn = t.app.get<Connection>(getConnectionToken());
    const count = (c: string) => conn.db!.collection(c).countDocuments({ tenant_id: a.tenant.tenantId, user_id: gone });
    expect([await count('mls_key_packages'), await count('mls_welcomes')]).toEqual([4, 1]);
    // The inbox entry points at the Welcome's bytes, stored once; they go with the last entry.
    const entry = await conn.db!.collection('mls_welcomes').findOne({ tenant_id: a.tenant.tenantId, user_id: gone });
    const blob = () => conn.db!.collection('mls_welcome_blobs').countDocuments({ tenant_id: a.tenant.tenantId, _id: entry!.welcome_id });
    expect(await blob()).toBe(1);
    await a.server.deleteUser(gone);
    expect([await count('mls_key_packages'), await count('mls_welcomes')]).toEqual([0, 0]);
    expect(await blob()).toBe(0);
  });

  it('is members-only and tenant-scoped', async () => {
    const [alice, bob, eve] = [rid('alice'), rid('bob'), rid('eve')];
    const users = await a.users([alice, bob, eve]);
    const aliceDev = await mls.MlsDevice.connect(users[alice]!.http, 'phone');
    const bobDev = await mls.MlsDevice.connect(users[bob]!.http, 'laptop');
    const eveDev = await mls.MlsDevice.connect(users[eve]!.http, 'pc');
    await bobDev.publishKeyPackages(1);
    await eveDev.publishKeyPackages(1);
    const conv = await groupConv(users[alice]!, [bob]);
    // Adding a device of a non-member in the Welcome is refused, and nothing is stored.
    const groupId = await aliceDev.client.createGroup();
    const out = await aliceDev.client.addMembers(groupId, [...(await aliceDev.claimKeyPackages(bob)), ...(await aliceDev.claimKeyPackages(eve))]);
    const refused = await expectApiError(aliceDev.postCommit(conv.id, out), 403, 'forbidden');
    expect(refused.details).toMatchObject({ not_members: [eve] });
    await expectApiError(users[alice]!.http.get(`/v1/conversations/${conv.id}/mls`), 404, 'not_found');
    // A non-member (eve) and another tenant's user see a missing conversation.
    await expectApiError(users[eve]!.http.get(`/v1/conversations/${conv.id}/mls/messages`), 404, 'not_found');
    const [mallory] = [rid('mallory')];
    const other = await b.users([mallory]);
    await expectApiError(other[mallory]!.http.get(`/v1/conversations/${conv.id}/mls`), 404, 'not_found');
    // Another tenant cannot claim this tenant's key packages: its user of the same name has none.
    const twin = await b.users([bob]);
    expect(await twin[bob]!.http.post(`/v1/users/${bob}/mls/key-packages/claim`)).toEqual({ data: [] });
  });
});
