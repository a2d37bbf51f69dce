/* Reports and message franking through REST with SDK clients (real services): a genuine report
 * verifies and enters the tenant's queue; forged ones are refused; the queue is the tenant's own and
 * not the end users'; resolve and act are audited; moderation.report.* webhooks reach a real receiver. */
import { randomBytes } from 'node:crypto';
import { bytesToBase64, ChatServerClient, encryptMessage, getKeys, isCryptoError, sealFrankedPayload, type DecryptedMessage, type E2EChat, type MessageView } from '@chat/sdk';
import { expectApiError, rid, sdkTenant, SdkTenant } from './e2e-helpers';
import { adminLogin, api, asAdmin, asUser, createTenant } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';
import { WEBHOOK_TEST_ENV, WebhookReceiver } from './support/webhook-receiver';

describe('reports and message franking (REST, SDK, real receiver)', () => {
  let t: TestApp;
  let a: SdkTenant;
  let r: WebhookReceiver;
  const [alice, bob, carol] = [rid('alice'), rid('bob'), rid('carol')];
  let A: E2EChat, B: E2EChat, C: E2EChat;
  let convId: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { ...WEBHOOK_TEST_ENV, FILES_SWEEP_INTERVAL_SECONDS: '0' } });
    r = await new WebhookReceiver().start();
    a = await sdkTenant(t);
    await api(t, a.tenant).post('/v1/webhooks').send({ url: r.url, events: ['moderation.report.created', 'moderation.report.resolved'] }).expect(201);
    const cs = await a.users([alice, bob, carol]);
    A = await a.device(alice, cs[alice]!);
    B = await a.device(bob, cs[bob]!);
    C = await a.device(carol, cs[carol]!);
    convId = (await A.client.createConversation({ type: 'group', name: 'mod', member_ids: [bob, carol] })).id;
  });
  afterAll(async () => {
    await r?.stop();
    await t?.close();
  });

  /** alice sends `text`; `reader` fetches and decrypts it. */
  async function sendAndRead(text: string, reader: E2EChat, sender: E2EChat = A): Promise<DecryptedMessage> {
    const sent = await sender.sendText(convId, text);
    return reader.decrypt(await reader.client.getMessage(convId, sent.id));
  }

  const auditOf = async (tenantId: string, action: string) =>
    (await asAdmin(t, a.tenant.adminToken).get('/admin/audit-logs').query({ tenant_id: tenantId, action, limit: 100 }).expect(200)).body.data as Array<Record<string, any>>;

  it('a genuine report verifies and enters the queue; the moderation.report.created webhook carries ids only', async () => {
    const dec = await sendAndRead('you are awful', B);
    expect(dec.franking).not.toBeNull();
    expect(dec.message.content!.franking_commitment).toBe(dec.franking!.commitment);
    expect(dec.payload).toEqual({ v: 1, kind: 'text', text: 'you are awful' });

    const receipt = await B.report(dec, 'harassment', { note: 'third time today' });
    expect(receipt).toMatchObject({ conversation_id: convId, message_id: dec.message.id, reason: 'harassment', verified: true, status: 'open' });

    const page = await a.server.listReports({ status: 'open' });
    expect(page.data.map((x) => x.id)).toEqual([receipt.id]);
    const report = await a.server.getReport(receipt.id);
    expect(report).toMatchObject({
      sender_id: alice,
      sender_device_id: A.deviceId,
      reporter_id: bob,
      verified: true,
      commitment: dec.franking!.commitment,
      franking_key: dec.franking!.franking_key,
      note: 'third time today',
    });
    expect(JSON.parse(report.payload)).toEqual({ v: 1, kind: 'text', text: 'you are awful' });
    expect((await a.server.listReports({ conversation_id: convId })).data).toHaveLength(1);
    expect((await a.server.listReports({ status: 'dismissed' })).data).toEqual([]);

    // Once per member; not one's own message.
    await expectApiError(B.report(dec, 'spam'), 409, 'conflict');
    const own = await A.decrypt(dec.message);
    await expectApiError(A.report(own, 'spam'), 400, 'validation_failed');

    await waitFor(() => r.ofType('moderation.report.created').length === 1, 15_000, 'moderation.report.created');
    const hook = r.ofType('moderation.report.created')[0]!;
    expect(hook.body.data).toEqual({
      report_id: receipt.id,
      conversation_id: convId,
      message_id: dec.message.id,
      sender_id: alice,
      reporter_id: bob,
      reason: 'harassment',
      verified: true,
      created_at: receipt.created_at,
    });
    expect(hook.raw).not.toContain('awful');
    expect(hook.raw).not.toContain(dec.franking!.franking_key);
    expect((await auditOf(a.tenant.tenantId, 'moderation.report.create')).some((e) => e.resource.id === receipt.id && e.actor.id === bob)).toBe(true);
  });

  it('a forged report (changed text, wrong key, another message’s key and payload, no key) fails verification and stores nothing', async () => {
    const before = (await a.server.listReports({ limit: 100 })).data.length;
    const dec = await sendAndRead('meet me at noon', C);
    const other = await sendAndRead('something else entirely', C);
    const forgeries: DecryptedMessage[] = [
      { ...dec, payloadText: dec.payloadText.replace('noon', 'midnight') },
      { ...dec, franking: { ...dec.franking!, franking_key: bytesToBase64(randomBytes(32)) } },
      // The other message's genuine payload and key, against this message's commitment.
      { ...other, message: dec.message },
    ];
    for (const forged of forgeries) await expectApiError(C.report(forged, 'spam'), 422, 'franking_mismatch');
    await expectApiError(C.client.reportMessage(convId, dec.message.id, { payload: dec.payloadText, reason: 'spam' }), 422, 'franking_mismatch');
    expect((await a.server.listReports({ limit: 100 })).data).toHaveLength(before);
    const rejected = await auditOf(a.tenant.tenantId, 'moderation.report.reject');
    expect(rejected.filter((e) => e.resource.id === dec.message.id && e.success === false)).toHaveLength(4);

    // The genuine one still goes through.
    expect((await C.report(dec, 'spam')).verified).toBe(true);
  });

  it('a sender cannot send what fails every report: a commitment that does not open fails decryption', async () => {
    const keys = getKeys(A.keyring);
    const ctx = { tenantId: a.tenant.tenantId, conversationId: convId, senderId: alice, senderDeviceId: A.deviceId };
    const shown = sealFrankedPayload(JSON.stringify({ v: 1, kind: 'text', text: 'shown' }), ctx);
    const committed = sealFrankedPayload(JSON.stringify({ v: 1, kind: 'text', text: 'committed' }), ctx);
    const content = encryptMessage({
      plaintext: shown.plaintext,
      frankingCommitment: committed.commitment,
      type: 'text',
      conversationId: convId,
      senderId: alice,
      senderDevice: { device_id: keys.device_id, key_version: keys.key_version },
      recipients: await A.memberDevices(convId),
      signingKey: keys.signing!.secretKey,
    });
    const sent = await A.client.sendMessage(convId, { content });
    const err = await B.decrypt(await B.client.getMessage(convId, sent.id)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isCryptoError(err, 'AUTHENTICATION_FAILED')).toBe(true);
  });

  it('a message sent without franking can be reported, stored as unverifiable', async () => {
    const { E2EChat: Chat } = await import('@chat/sdk');
    const plain = new Chat({ client: A.client, userId: alice, keyring: A.keyring, franking: false });
    const sent = await plain.sendText(convId, 'old client');
    const dec = await B.decrypt(await B.client.getMessage(convId, sent.id));
    expect(sent.content!.franking_commitment).toBeUndefined();
    expect(dec.franking).toBeNull();
    const receipt = await B.report(dec, 'other');
    expect(receipt.verified).toBe(false);
    expect(await a.server.getReport(receipt.id)).toMatchObject({ verified: false, commitment: null, franking_key: null });
  });

  it('the queue is the tenant’s: other tenants and end users are refused; scopes are enforced', async () => {
    const dec = await sendAndRead('cross-tenant check', B);
    const { id } = await B.report(dec, 'spam');
    const other = await createTenant(t);
    const otherServer = new ChatServerClient({ baseUrl: t.url, apiKey: other.apiKey });
    await expectApiError(otherServer.getReport(id), 404, 'not_found');
    expect((await otherServer.listReports()).data).toEqual([]);
    await expectApiError(otherServer.resolveReport(id), 404, 'not_found');
    await expectApiError(otherServer.actOnReport(id, { actions: ['delete_message'] }), 404, 'not_found');
    const admin = asAdmin(t, a.tenant.adminToken);
    await admin.get(`/admin/tenants/${other.tenantId}/moderation/reports/${id}`).expect(404);
    await admin.get(`/admin/tenants/${a.tenant.tenantId}/moderation/reports/${id}`).expect(200);
    await admin.get(`/admin/tenants/${a.tenant.tenantId}/moderation/reports/not-an-id`).expect(404);
    await admin.get('/admin/tenants/bad%20id/moderation/reports').expect(404);
    // A user of another tenant cannot report this tenant's message.
    const otherUser = await api(t, other).put(`/v1/users/${bob}`).send({});
    expect([200, 201]).toContain(otherUser.status);
    const otherToken = (await api(t, other).post(`/v1/users/${bob}/tokens`).send({}).expect(201)).body.token as string;
    await asUser(t, otherToken).post(`/v1/conversations/${convId}/messages/${dec.message.id}/reports`).send({ payload: dec.payloadText, franking_key: dec.franking!.franking_key, reason: 'spam' }).expect(404);
    // End users never read the queue.
    const bobToken = (await a.server.issueUserToken(bob)).token;
    const denied = await asUser(t, bobToken).get('/v1/moderation/reports');
    expect([401, 403]).toContain(denied.status);
    await asUser(t, bobToken).get(`/admin/tenants/${a.tenant.tenantId}/moderation/reports`).expect(401);
    // A read-only key reads, cannot resolve; a key without moderation scopes cannot read.
    const readOnly = (await admin.post(`/admin/applications/${a.tenant.applicationId}/api-keys`).send({ name: 'mod-read', scopes: ['moderation:read'] }).expect(201)).body.key as string;
    await api(t, readOnly).get(`/v1/moderation/reports/${id}`).expect(200);
    await api(t, readOnly).post(`/v1/moderation/reports/${id}/resolve`).send({}).expect(403);
    const noScope = (await admin.post(`/admin/applications/${a.tenant.applicationId}/api-keys`).send({ name: 'users', scopes: ['users:read'] }).expect(201)).body.key as string;
    await api(t, noScope).get('/v1/moderation/reports').expect(403);
    // Bad input is a 400.
    await api(t, a.tenant).get('/v1/moderation/reports').query({ status: 'weird' }).expect(400);
    await api(t, a.tenant).post(`/v1/moderation/reports/${id}/act`).send({ actions: ['explode'] }).expect(400);
  });

  it('a support admin reads the queue but cannot resolve or act (owner only, like every admin write); the refusal is audited', async () => {
    const { id } = await B.report(await sendAndRead('support may only look', B), 'spam');
    const owner = asAdmin(t, a.tenant.adminToken);
    const creds = { email: 'queue-support@example.com', password: 'support-password-1' };
    const supportId = (await owner.post('/admin/admins').send({ ...creds, role: 'support' }).expect(201)).body.id as string;
    const support = asAdmin(t, await adminLogin(t, creds));
    const path = `/admin/tenants/${a.tenant.tenantId}/moderation/reports`;
    expect((await support.get(path).query({ status: 'open' }).expect(200)).body.data.map((x: { id: string }) => x.id)).toContain(id);
    await support.get(`${path}/${id}`).expect(200);
    expect((await support.post(`${path}/${id}/act`).send({ actions: ['delete_message', 'ban_user'] }).expect(403)).body.error.code).toBe('forbidden');
    expect((await support.post(`${path}/${id}/resolve`).send({}).expect(403)).body.error.code).toBe('forbidden');
    // Nothing was done: the report is open, the message is there, its sender is not banned.
    expect((await a.server.getReport(id)).status).toBe('open');
    await A.client.me();
    const denied = (await owner.get('/admin/audit-logs').query({ action: 'auth.permission_denied', actor_id: supportId }).expect(200)).body.data as Array<Record<string, any>>;
    expect(denied.every((e) => e.success === false)).toBe(true);
    expect(denied.map((e) => String(e.resource.id).replace(/^.*\//, '')).sort()).toEqual(['act', 'resolve']);
  });

  it('resolve and act: the message is deleted through the delete path, every action audited, moderation.report.resolved delivered', async () => {
    const dismissed = await B.report(await sendAndRead('to dismiss', B), 'spam');
    const resolved = await a.server.resolveReport(dismissed.id, { note: 'not spam' });
    expect(resolved).toMatchObject({ status: 'dismissed', resolution: { by: { type: 'api_key', id: a.tenant.apiKeyId }, note: 'not spam', actions: [] } });
    await expectApiError(a.server.resolveReport(dismissed.id), 409, 'conflict');

    const dec = await sendAndRead('delete me', B);
    const toAct = await B.report(dec, 'hate');
    const admin = asAdmin(t, a.tenant.adminToken);
    const acted = await admin.post(`/admin/tenants/${a.tenant.tenantId}/moderation/reports/${toAct.id}/act`).send({ actions: ['delete_message'], note: 'removed' }).expect(200);
    expect(acted.body).toMatchObject({ status: 'actioned', resolution: { by: { type: 'admin' }, actions: ['delete_message'], note: 'removed' } });
    const gone: MessageView = await B.client.getMessage(convId, dec.message.id);
    expect(gone.deleted_at).not.toBeNull();
    expect(gone.content).toBeNull();
    await admin.post(`/admin/tenants/${a.tenant.tenantId}/moderation/reports/${toAct.id}/resolve`).send({}).expect(409);

    // The admin queue lists by status.
    const actioned = await admin.get(`/admin/tenants/${a.tenant.tenantId}/moderation/reports`).query({ status: 'actioned' }).expect(200);
    expect(actioned.body.data.map((x: { id: string }) => x.id)).toEqual([toAct.id]);
    // `resolved`: both closed statuses, newest first (through the SDK too).
    const closed = await admin.get(`/admin/tenants/${a.tenant.tenantId}/moderation/reports`).query({ status: 'resolved' }).expect(200);
    expect(closed.body.data.map((x: { id: string }) => x.id)).toEqual([toAct.id, dismissed.id]);
    expect((await a.server.listReports({ status: 'resolved' })).data.map((x) => x.id)).toEqual([toAct.id, dismissed.id]);

    for (const [action, id, actor] of [
      ['moderation.report.resolve', dismissed.id, 'api_key'],
      ['moderation.report.act', toAct.id, 'admin'],
      ['moderation.message.delete', dec.message.id, 'admin'],
    ] as const) {
      const entries = (await auditOf(a.tenant.tenantId, action)).filter((e) => e.resource.id === id && e.success === true);
      expect(entries).toHaveLength(1);
      expect(entries[0]!.actor.type).toBe(actor);
    }
    await waitFor(() => r.ofType('moderation.report.resolved').length >= 2, 15_000, 'moderation.report.resolved');
    const hooks = r.ofType('moderation.report.resolved').map((h) => h.body.data);
    expect(hooks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ report_id: dismissed.id, status: 'dismissed', actions: [], resolved_by: { type: 'api_key', id: a.tenant.apiKeyId } }),
        expect.objectContaining({ report_id: toAct.id, status: 'actioned', actions: ['delete_message'], message_id: dec.message.id }),
      ]),
    );
  });

  it('ban_user bans the sender tenant-wide (libs/moderation) and deletes the message in one act, audited', async () => {
    const dec = await sendAndRead('ban candidate', C);
    const { id } = await C.report(dec, 'spam');
    const acted = await a.server.actOnReport(id, { actions: ['delete_message', 'ban_user'], ban: { reason: 'spam wave' } });
    expect(acted).toMatchObject({ status: 'actioned', resolution: { actions: ['delete_message', 'ban_user'] } });
    expect((await C.client.getMessage(convId, dec.message.id)).deleted_at).not.toBeNull();
    // The sender's requests are refused from now on.
    await expectApiError(A.client.me(), 403, 'user_banned');
    const bans = (await auditOf(a.tenant.tenantId, 'moderation.user.ban')).filter((e) => e.resource.id === alice);
    expect(bans).toHaveLength(1);
    expect(bans[0]!.details).toMatchObject({ report_id: id });
  });
});
