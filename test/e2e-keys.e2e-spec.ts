import request from 'supertest';
import {
  bytesToBase64,
  conversationKeyCheck,
  conversationKeyContext,
  createKeyring,
  currentPublicBundle,
  encryptMessage,
  generateConversationKey,
  rotateKeyring,
  wrapKeyForRecipients,
  type RecipientPublicKey,
} from '@chat/sdk';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { createTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';
import { expectApiError, rid, sdkTenant, SdkTenant } from './e2e-helpers';

const b64 = (n: number) => bytesToBase64(globalThis.crypto.getRandomValues(new Uint8Array(n)));

describe('key directory (real FerretDB, over HTTP through the SDK)', () => {
  let t: TestApp;
  let a: SdkTenant;
  beforeAll(async () => {
    t = await createTestApp({ env: { KEYS_MAX_DEVICES_PER_USER: '3', FILES_SWEEP_INTERVAL_SECONDS: '0' } });
    a = await sdkTenant(t);
  });
  afterAll(async () => t?.close());

  it('publishes, re-publishes idempotently, refuses changed or older versions, rotates and keeps history', async () => {
    const alice = rid('alice');
    const { [alice]: c } = await a.users([alice]);
    let ring = createKeyring('phone');
    const v1 = currentPublicBundle(ring);
    const first = await c.http.request<any>('PUT', '/v1/me/devices/phone/keys', { body: { key_version: 1, public_key: v1.public_key, signing_key: v1.signing_key } });
    expect(first).toMatchObject({ user_id: alice, device_id: 'phone', key_version: 1, public_key: v1.public_key, signing_key: v1.signing_key, revoked_at: null });
    // Same keys again: 200, nothing new.
    const again = await request(t.url).put('/v1/me/devices/phone/keys').set('Authorization', `Bearer ${(await a.server.issueUserToken(alice)).token}`).send({ key_version: 1, public_key: v1.public_key, signing_key: v1.signing_key });
    expect(again.status).toBe(200);
    // Same version, other key: 409.
    await expectApiError(c.publishDeviceKey('phone', { key_version: 1, public_key: b64(32) }), 409, 'conflict');
    ring = rotateKeyring(ring).keyring;
    const v2 = currentPublicBundle(ring);
    await c.publishDeviceKey('phone', { key_version: 2, public_key: v2.public_key, signing_key: v2.signing_key! });
    // Going back is refused.
    await expectApiError(c.publishDeviceKey('phone', { key_version: 1, public_key: b64(32) }), 409, 'conflict');

    const mine = await c.myDevices();
    expect(mine.data).toHaveLength(1);
    expect(mine.data[0]).toMatchObject({ device_id: 'phone', key_version: 2, public_key: v2.public_key });
    expect(mine.data[0]!.versions.map((v) => v.key_version)).toEqual([1, 2]);

    // Others see the current version, or every version on request (old signatures stay verifiable).
    expect((await c.userKeys(alice)).data.map((k) => k.key_version)).toEqual([2]);
    expect((await c.userKeys(alice, 'all')).data.map((k) => k.key_version)).toEqual([1, 2]);
    expect((await a.server.userKeys(alice)).data[0]!.public_key).toBe(v2.public_key);
  });

  it('validates input in the error shape', async () => {
    const u = rid('val');
    const { [u]: c } = await a.users([u]);
    const bad = await expectApiError(c.publishDeviceKey('d1', { key_version: 1, public_key: 'not base64' }), 400, 'validation_failed');
    expect(JSON.stringify(bad.details)).toContain('public_key');
    await expectApiError(c.publishDeviceKey('d1', { key_version: 0, public_key: b64(32) }), 400, 'validation_failed');
    await expectApiError(c.publishDeviceKey('d1', { key_version: 1, public_key: b64(31) }), 400, 'validation_failed');
    await expectApiError(c.publishDeviceKey('bad device id!', { key_version: 1, public_key: b64(32) }), 400, 'validation_failed');
    await expectApiError(c.publishDeviceKey('d1', { key_version: 1, public_key: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' }), 400, 'validation_failed');
    await expectApiError(c.userKeys('nobody-here'), 404, 'not_found');
  });

  it('removes devices (user and server side) and bounds the number of devices', async () => {
    const u = rid('dev');
    const { [u]: c } = await a.users([u]);
    for (const d of ['d1', 'd2', 'd3']) await c.publishDeviceKey(d, { key_version: 1, public_key: currentPublicBundle(createKeyring(d)).public_key });
    const limit = await expectApiError(c.publishDeviceKey('d4', { key_version: 1, public_key: b64(32) }), 429, 'quota_exceeded');
    expect(limit.details).toMatchObject({ limit: 3 });
    // A new version of an existing device is not a new device.
    await c.publishDeviceKey('d3', { key_version: 2, public_key: b64(32) });
    await c.removeDevice('d1');
    await expectApiError(c.removeDevice('d1'), 404, 'not_found');
    await a.server.revokeDevice(u, 'd2');
    expect((await c.userKeys(u)).data.map((k) => k.device_id)).toEqual(['d3']);
    expect((await c.userKeys(u, 'all')).data.filter((k) => k.revoked_at).map((k) => k.device_id).sort()).toEqual(['d1', 'd2']);
    // Room again for a device; a revoked id cannot come back under an old version.
    await c.publishDeviceKey('d4', { key_version: 1, public_key: b64(32) });
    await expectApiError(c.publishDeviceKey('d1', { key_version: 1, public_key: b64(32) }), 409, 'conflict');
  });

  it('gives members, and only members, the current keys of every member device', async () => {
    const [x, y, z] = [rid('x'), rid('y'), rid('z')];
    const cs = await a.users([x, y, z]);
    await a.device(x, cs[x]!, 'x-phone');
    await a.device(x, cs[x]!, 'x-laptop');
    const conv = await cs[x]!.createConversation({ type: 'group', name: 'g', member_ids: [y] });
    const keys = await cs[y]!.conversationMemberKeys(conv.id);
    expect(keys.data.map((k) => `${k.user_id}/${k.device_id}`).sort()).toEqual([`${x}/x-laptop`, `${x}/x-phone`]);
    expect(keys.members_without_keys).toEqual([y]);
    await expectApiError(cs[z]!.conversationMemberKeys(conv.id), 404, 'not_found');

    // Another tenant: the same ids are just "not found".
    const b = await sdkTenant(t);
    const other = await b.users([x]);
    await expectApiError(other[x]!.conversationMemberKeys(conv.id), 404, 'not_found');
    await expectApiError(other[x]!.userKeys(y), 404, 'not_found');
    // The same external id in tenant b is another user: none of tenant a's devices.
    expect((await b.server.userKeys(x)).data).toEqual([]);
  });

  it('stores conversation key versions wrapped per device and lets members share them', async () => {
    const [p, q, r] = [rid('p'), rid('q'), rid('r')];
    const cs = await a.users([p, q, r]);
    const dp = await a.device(p, cs[p]!, 'p1');
    const dq = await a.device(q, cs[q]!, 'q1');
    const conv = await cs[p]!.createConversation({ type: 'group', name: 'keys', member_ids: [q] });
    const key = generateConversationKey();
    const ctx = conversationKeyContext(conv.id, 1);
    const recipients = await dp.memberDevices(conv.id);
    // Every member device must be covered.
    const partial = wrapKeyForRecipients({ key, recipients: recipients.filter((x) => x.user_id === p), context: ctx });
    const missing = await expectApiError(cs[p]!.createConversationKey(conv.id, { key_version: 1, key_check: conversationKeyCheck(key), ...partial }), 422, 'missing_recipient_keys');
    expect(missing.details.missing).toEqual([{ user_id: q, device_id: 'q1', key_version: 1 }]);
    const full = wrapKeyForRecipients({ key, recipients, context: ctx });
    const created = await cs[p]!.createConversationKey(conv.id, { key_version: 1, key_check: conversationKeyCheck(key), ...full });
    expect(created.key_version).toBe(1);
    await expectApiError(cs[q]!.createConversationKey(conv.id, { key_version: 1, key_check: conversationKeyCheck(key), ...full }), 409, 'conflict');

    // q reads the key through the SDK (unwrapped and checked against key_check).
    expect((await dq.conversationKey(conv.id)).key).toEqual(key);
    const listed = await cs[q]!.conversationKeys(conv.id);
    expect(listed.current_version).toBe(1);
    expect(listed.data[0]!.shares[0]!.encrypted_key.every((e) => e.user_id === q)).toBe(true);

    // r joins later: nothing shared with r yet; q shares version 1.
    await cs[p]!.addMembers(conv.id, [r]);
    const dr = await a.device(r, cs[r]!, 'r1');
    expect((await cs[r]!.conversationKeys(conv.id)).data).toEqual([]);
    const rDevices = (await dq.memberDevices(conv.id, true)).filter((x) => x.user_id === r);
    await cs[q]!.shareConversationKey(conv.id, 1, wrapKeyForRecipients({ key, recipients: rDevices, context: ctx }));
    expect((await dr.conversationKey(conv.id)).key).toEqual(key);
    // Only members can be recipients; only members can read.
    const stranger = await expectApiError(
      cs[q]!.shareConversationKey(conv.id, 1, { ephemeral_public_key: b64(32), encrypted_key: [{ user_id: 'not-a-member', device_id: 'd', key_version: 1, wrapped_key: b64(72) }] }),
      400,
      'validation_failed',
    );
    expect(JSON.stringify(stranger.details)).toContain('not-a-member');
    await expectApiError(cs[q]!.shareConversationKey(conv.id, 7, full), 404, 'not_found');
    const outsider = rid('out');
    const oc = await a.users([outsider]);
    await expectApiError(oc[outsider]!.conversationKeys(conv.id), 404, 'not_found');
  });

  it('refuses a message lacking a wrapped key for a current device of a member, listing who is missing', async () => {
    const [s, r, n] = [rid('s'), rid('r'), rid('nokeys')];
    const cs = await a.users([s, r, n]);
    const ds = await a.device(s, cs[s]!, 's-phone');
    await a.device(r, cs[r]!, 'r-phone');
    await a.device(r, cs[r]!, 'r-laptop');
    const conv = await cs[s]!.createConversation({ type: 'group', name: 'rule', member_ids: [r, n] });
    const fakeFor = (userId: string): RecipientPublicKey => ({ user_id: userId, device_id: 'any', key_version: 1, public_key: currentPublicBundle(createKeyring('x')).public_key });
    const devices = await cs[s]!.conversationMemberKeys(conv.id);
    expect(devices.members_without_keys).toEqual([n]);
    const all: RecipientPublicKey[] = devices.data.map((k) => ({ user_id: k.user_id, device_id: k.device_id, key_version: k.key_version, public_key: k.public_key }));
    const send = (recipients: RecipientPublicKey[]) =>
      cs[s]!.sendMessage(conv.id, {
        content: encryptMessage({ plaintext: 'rule', type: 'text', conversationId: conv.id, senderId: s, senderDevice: { device_id: 's-phone', key_version: 1 }, recipients }),
      });
    // One shape whatever is missing: details is exactly { missing: [{ user_id, device_id, key_version }] }.
    const byDevice = (list: Array<{ user_id: string; device_id: string | null }>) => [...list].sort((x, y) => `${x.user_id}/${x.device_id}`.localeCompare(`${y.user_id}/${y.device_id}`));
    // r's laptop is missing.
    const missing = await expectApiError(send([...all.filter((x) => x.device_id !== 'r-laptop'), fakeFor(n)]), 422, 'missing_recipient_keys');
    expect(missing.details).toEqual({ missing: [{ user_id: r, device_id: 'r-laptop', key_version: 1 }] });
    // r is absent from the envelope entirely: each of r's current devices is listed.
    const absent = await expectApiError(send([...all.filter((x) => x.user_id !== r), fakeFor(n)]), 422, 'missing_recipient_keys');
    expect(Object.keys(absent.details)).toEqual(['missing']);
    expect(byDevice(absent.details.missing)).toEqual([
      { user_id: r, device_id: 'r-laptop', key_version: 1 },
      { user_id: r, device_id: 'r-phone', key_version: 1 },
    ]);
    // A member with no published device keeps the user-level rule: listed with null device and version.
    const noKeys = await expectApiError(send(all), 422, 'missing_recipient_keys');
    expect(noKeys.details).toEqual({ missing: [{ user_id: n, device_id: null, key_version: null }] });
    // Both at once, in the same list.
    const both = await expectApiError(send(all.filter((x) => x.user_id !== r)), 422, 'missing_recipient_keys');
    expect(byDevice(both.details.missing)).toEqual([
      { user_id: n, device_id: null, key_version: null },
      { user_id: r, device_id: 'r-laptop', key_version: 1 },
      { user_id: r, device_id: 'r-phone', key_version: 1 },
    ]);
    const ok = await send([...all, fakeFor(n)]);
    expect(ok.seq).toBe(1);

    // r rotates its phone: the old version no longer counts as current, the new one must be there.
    const rotated = rotateKeyring(createKeyring('r-phone', { keyVersion: 1 })).keyring;
    await cs[r]!.publishDeviceKey('r-phone', { key_version: 2, public_key: currentPublicBundle(rotated).public_key });
    const stale = await expectApiError(send([...all, fakeFor(n)]), 422, 'missing_recipient_keys');
    expect(stale.details).toEqual({ missing: [{ user_id: r, device_id: 'r-phone', key_version: 2 }] });
    // Edits follow the same rule.
    await expectApiError(
      cs[s]!.editMessage(conv.id, ok.id, {
        content: encryptMessage({ plaintext: 'edited', type: 'text', conversationId: conv.id, senderId: s, senderDevice: { device_id: 's-phone', key_version: 1 }, recipients: [...all, fakeFor(n)] }),
      }),
      422,
      'missing_recipient_keys',
    );
    // The SDK refreshes the keys and retries by itself.
    await cs[n]!.publishDeviceKey('n1', { key_version: 1, public_key: currentPublicBundle(createKeyring('n1')).public_key });
    const sent = await ds.sendText(conv.id, 'after rotation');
    expect(sent.content!.encrypted_key.map((e) => `${e.user_id}/${e.device_id}/${e.key_version}`).sort()).toEqual(
      [`${n}/n1/1`, `${r}/r-laptop/1`, `${r}/r-phone/2`, `${s}/s-phone/1`].sort(),
    );
  });

  it('refuses unknown messages and strangers in history key shares', async () => {
    const [p, q] = [rid('hp'), rid('hq')];
    const cs = await a.users([p, q]);
    await a.device(p, cs[p]!, 'p1');
    await a.device(q, cs[q]!, 'q1');
    const conv = await cs[p]!.createConversation({ type: 'group', name: 'h', member_ids: [q] });
    await expectApiError(
      cs[p]!.shareMessageKeys(conv.id, [{ message_id: '0123456789abcdef01234567', ephemeral_public_key: b64(32), encrypted_key: [{ user_id: q, device_id: 'q1', key_version: 1, wrapped_key: b64(72) }] }]),
      404,
      'not_found',
    );
    await expectApiError(cs[p]!.messageKeyShares(conv.id, { cursor: 'nope' }), 400, 'validation_failed');
    expect((await cs[q]!.messageKeyShares(conv.id)).data).toEqual([]);
  });

  it('drops a deleted message’s key shares and a deleted user’s device keys', async () => {
    const [p, q, r] = [rid('dp'), rid('dq'), rid('dr')];
    const cs = await a.users([p, q, r]);
    const dp = await a.device(p, cs[p]!, 'p1');
    await a.device(q, cs[q]!, 'q1');
    const conv = await cs[p]!.createConversation({ type: 'group', name: 'gone', member_ids: [q] });
    const m = await dp.sendText(conv.id, 'to be deleted');
    await cs[p]!.addMembers(conv.id, [r]);
    const dr = await a.device(r, cs[r]!, 'r1');
    expect(await dp.shareHistory(conv.id, [r])).toBe(1);
    expect((await cs[r]!.messageKeyShares(conv.id)).data.map((x) => x.message_id)).toEqual([m.id]);
    expect((await dr.decrypt(m)).viaKeyShare).toBe(true);
    await cs[p]!.deleteMessage(conv.id, m.id);
    await waitFor(async () => (await cs[r]!.messageKeyShares(conv.id)).data.length === 0);

    const conn = t.app.get<Connection>(getConnectionToken());
    const count = () => conn.db!.collection('device_keys').countDocuments({ tenant_id: a.tenant.tenantId, user_id: q });
    expect(await count()).toBe(1);
    await a.server.deleteUser(q);
    expect(await count()).toBe(0);
    await expectApiError(cs[p]!.userKeys(q), 404, 'not_found');
  });
});
