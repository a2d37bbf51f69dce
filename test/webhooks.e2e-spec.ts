import { createHash, randomBytes } from 'node:crypto';
import { ConversationsService, UsersService } from '@chat/chat';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { verifySignature, WebhookDeliveriesRepository, WebhookDispatcher } from '@chat/webhooks';
import { fakeEnvelope } from './chat-messages-helpers';
import { api, asAdmin, asUser, createTenant, userToken } from './support/factories';
import { closeAllSockets, connectSocket, waitFor } from './support/socket-client';
import { webhooksSuite } from './webhooks-helpers';

/**
 * Webhook endpoints and the events they hear: management per application, signed payloads of ids and
 * metadata, secret rotation, notification.offline, file events. Delivery and retries:
 * webhooks-delivery.e2e-spec.ts; lost outbox rows and several nodes: webhooks-nodes.e2e-spec.ts.
 * Set-up: webhooks-helpers.ts.
 */
describe('webhooks against a real receiver on loopback (FerretDB, Redis): endpoints and events', () => {
  const { t, receiver, world, send, endpoint } = webhooksSuite();

  it('manages endpoints per application: secret shown once, scopes, validation, no cross-tenant access', async () => {
    const a = await createTenant(t);
    const b = await createTenant(t);
    const created = await api(t, a).post('/v1/webhooks').send({ url: 'http://127.0.0.1:9/hooks', events: ['message.new'] }).expect(201);
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(created.body).toMatchObject({ application_id: a.applicationId, events: ['message.new'], active: true });
    const shown = await api(t, a).get(`/v1/webhooks/${created.body.id}`).expect(200);
    expect(JSON.stringify(shown.body)).not.toContain(created.body.secret);
    const listed = await api(t, a).get('/v1/webhooks').expect(200);
    expect(listed.body.data.map((e: { id: string }) => e.id)).toEqual([created.body.id]);

    // Another tenant's key: the endpoint does not exist for it.
    await api(t, b).get(`/v1/webhooks/${created.body.id}`).expect(404);
    await api(t, b).patch(`/v1/webhooks/${created.body.id}`).send({ active: false }).expect(404);
    await api(t, b).delete(`/v1/webhooks/${created.body.id}`).expect(404);
    await api(t, b).get(`/v1/webhooks/${created.body.id}/deliveries`).expect(404);
    expect((await api(t, b).get('/v1/webhooks').expect(200)).body.data).toEqual([]);

    // Bad input: 400 in the one error shape.
    const bad = await api(t, a).post('/v1/webhooks').send({ url: 'ftp://example.com/x' }).expect(400);
    expect(bad.body.error.code).toBe('validation_failed');
    await api(t, a).post('/v1/webhooks').send({ url: 'https://example.com', events: ['message.exploded'] }).expect(400);
    await api(t, a).get('/v1/webhooks/not-an-id').expect(404);
    await api(t, a).get(`/v1/webhooks/${created.body.id}/deliveries?cursor=%24where`).expect(400);

    // A key without the webhooks scopes is refused.
    const narrow = await createTenant(t, { scopes: ['users:read'] });
    await api(t, narrow).post('/v1/webhooks').send({ url: 'https://example.com/h' }).expect(403);
    await api(t, narrow).get('/v1/webhooks').expect(403);

    // The admin API sees it under the application; update and delete work.
    const admin = asAdmin(t, a.adminToken);
    const adminList = await admin.get(`/admin/applications/${a.applicationId}/webhooks`).expect(200);
    expect(adminList.body.data[0].id).toBe(created.body.id);
    await admin.patch(`/admin/webhooks/${created.body.id}`).send({ active: false, description: 'off' }).expect(200);
    await admin.delete(`/admin/webhooks/${created.body.id}`).expect(200);
    await api(t, a).get(`/v1/webhooks/${created.body.id}`).expect(404);
  });

  it('the test ping answers with its own attempt even when a scan runs right after its row is stored', async () => {
    const r = await receiver();
    const tenant = await createTenant(t);
    const ep = await endpoint(t, tenant, r.url);
    // A scan at the worst moment, forced: right after the ping's row is stored. Before, it could take the row
    // first; the ping then answered before any attempt (and a caller reading the receiver saw an older event).
    // An attempt the scan starts then is held at the receiver until the ping has answered.
    let scanWindow = false;
    let release: (() => void) | undefined;
    r.respond = () => (scanWindow ? new Promise<number>((done) => (release = () => done(200))) : 200);
    const repo = t.app.get(WebhookDeliveriesRepository);
    const insert = repo.insertIfAbsent.bind(repo);
    const spy = jest.spyOn(repo, 'insertIfAbsent').mockImplementation(async (rows) => {
      const n = await insert(rows);
      scanWindow = true;
      const scanned = t.app.get(WebhookDispatcher).runOnce();
      await Promise.race([scanned, waitFor(() => r.received.some((h) => h.id === rows[0]!.event_id), 10_000, 'a scan took the ping')]);
      scanWindow = false;
      return n;
    });
    try {
      const ping = await api(t, tenant).post(`/v1/webhooks/${ep.id}/test`).expect(200);
      expect(ping.body).toMatchObject({ type: 'webhook.test', status: 'delivered', attempts: 1 });
      expect(r.received.filter((h) => h.id === ping.body.event_id)).toHaveLength(1);
    } finally {
      spy.mockRestore();
      release?.();
    }
  });

  it('delivers signed message.new and membership events (ids and metadata, never content); the test ping works', async () => {
    const r = await receiver();
    const tenant = await createTenant(t);
    const ep = await endpoint(t, tenant, r.url);
    const ping = await api(t, tenant).post(`/v1/webhooks/${ep.id}/test`).expect(200);
    expect(ping.body).toMatchObject({ type: 'webhook.test', status: 'delivered', attempts: 1 });
    expect(ping.body.attempt_log).toEqual([expect.objectContaining({ attempt: 1, status_code: 200, latency_ms: expect.any(Number) })]);

    const w = await world(t, tenant);
    const sent = await send(w, { mentions: ['bob'] });
    await TenantContext.run({ tenantId: asTenantId(tenant.tenantId) }, async () => {
      await t.app.get(UsersService).upsert('dave', { profile: { display_name: 'dave' } });
      await t.app.get(ConversationsService).addMembers(w.groupId, { kind: 'server' }, ['dave']);
    });
    await waitFor(() => r.ofType('member.added').length === 1 && r.ofType('conversation.created').length === 1, 10_000, 'membership events');
    expect(r.ofType('conversation.created')[0]!.body.data).toEqual({ conversation_id: w.groupId, type: 'group', member_ids: expect.arrayContaining(['alice', 'bob', 'carol']) });
    expect(r.ofType('member.added')[0]!.body.data).toEqual({ conversation_id: w.groupId, user_ids: ['dave'], by: null });
    await TenantContext.run({ tenantId: asTenantId(tenant.tenantId) }, () => t.app.get(ConversationsService).setRole(w.groupId, { kind: 'user', userId: 'alice' }, 'dave', 'admin'));
    await waitFor(() => r.ofType('member.role_changed').length === 1, 10_000, 'member.role_changed');
    expect(r.ofType('member.role_changed')[0]!.body.data).toEqual({ conversation_id: w.groupId, user_id: 'dave', role: 'admin', by: 'alice' });
    // Users: created (world() and dave), then updated, deactivated.
    await waitFor(() => r.ofType('user.created').length === 4, 10_000, 'user.created');
    expect(r.ofType('user.created').map((h) => h.body.data.user_id).sort()).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(r.ofType('user.updated')).toEqual([]);
    await api(t, tenant).patch('/v1/users/dave').send({ profile: { display_name: 'Dave' } }).expect(200);
    await api(t, tenant).post('/v1/users/dave/deactivate').expect(200);
    await waitFor(() => r.ofType('user.deactivated').length === 1 && r.ofType('user.updated').length === 2, 10_000, 'user.updated, user.deactivated');
    expect(r.ofType('user.deactivated')[0]!.body.data).toEqual({ user_id: 'dave' });
    await waitFor(() => r.ofType('message.new').length === 1, 10_000, 'message.new delivered');
    const hook = r.ofType('message.new')[0]!;
    expect(hook.body.data).toEqual({
      message_id: sent.body.id,
      conversation_id: w.groupId,
      seq: sent.body.seq,
      sender_id: 'alice',
      type: 'text',
      mentions: ['bob'],
      thread_parent_id: null,
      created_at: sent.body.created_at,
    });
    expect(hook.id).toBe(hook.body.id);
    expect(hook.raw).not.toContain(sent.body.content.encrypted_data);
    expect(verifySignature(ep.secret, hook.signature, hook.timestamp, hook.raw, Math.floor(Date.now() / 1000))).toBe(true);
    expect(verifySignature(ep.secret, hook.signature, hook.timestamp, hook.raw.replace('alice', 'mallory'), Math.floor(Date.now() / 1000))).toBe(false);
    expect(verifySignature('whsec_wrong', hook.signature, hook.timestamp, hook.raw, Math.floor(Date.now() / 1000))).toBe(false);
    expect(r.ofType('webhook.test')).toHaveLength(1);
  });

  it('signs with both secrets during a rotation overlap, then only with the new one', async () => {
    const r = await receiver();
    const w = await world();
    const ep = await endpoint(t, w.tenant, r.url, ['message.new']);
    const rotated = await api(t, w.tenant).post(`/v1/webhooks/${ep.id}/rotate-secret`).send({ grace_seconds: 3600 }).expect(200);
    expect(rotated.body.secret).not.toBe(ep.secret);
    await send(w);
    await waitFor(() => r.ofType('message.new').length === 1, 10_000, 'delivered');
    const h = r.ofType('message.new')[0]!;
    const now = Math.floor(Date.now() / 1000);
    expect(h.signature.split(' ')).toHaveLength(2);
    expect(verifySignature(ep.secret, h.signature, h.timestamp, h.raw, now)).toBe(true);
    expect(verifySignature(rotated.body.secret, h.signature, h.timestamp, h.raw, now)).toBe(true);

    const again = await api(t, w.tenant).post(`/v1/webhooks/${ep.id}/rotate-secret`).send({ grace_seconds: 0 }).expect(200);
    await send(w);
    await waitFor(() => r.ofType('message.new').length === 2, 10_000, 'delivered');
    const h2 = r.ofType('message.new')[1]!;
    expect(verifySignature(again.body.secret, h2.signature, h2.timestamp, h2.raw, now)).toBe(true);
    expect(verifySignature(rotated.body.secret, h2.signature, h2.timestamp, h2.raw, now)).toBe(false);
  });

  it('notification.offline: one per message per member with no connected socket, none for the sender or a member who muted', async () => {
    const r = await receiver();
    const tenant = await createTenant(t);
    await endpoint(t, tenant, r.url, ['notification.offline']);
    const w = await world(t, tenant);
    await TenantContext.run({ tenantId: asTenantId(tenant.tenantId) }, async () => {
      await t.app.get(UsersService).upsert('dave', { profile: { display_name: 'dave' } });
      await t.app.get(ConversationsService).addMembers(w.groupId, { kind: 'server' }, ['dave']);
    });
    await asUser(t, await userToken(t, tenant, 'dave')).patch(`/v1/conversations/${w.groupId}/settings`).send({ muted: true }).expect(200);
    const bobOnline = await connectSocket(t.url, await userToken(t, tenant, 'bob'));
    expect(bobOnline.connected).toBe(true);
    try {
      const sent = await w.alice
        .post(`/v1/conversations/${w.groupId}/messages`)
        .send({ content: fakeEnvelope(['alice', 'bob', 'carol', 'dave']), mentions: ['carol'] })
        .expect(201);
      await waitFor(() => r.ofType('notification.offline').length >= 1, 10_000, 'notification.offline');
      // The ping below is sent after the notifications were recorded: when it arrives, nothing else is on its way.
      const ep = (await api(t, tenant).get('/v1/webhooks').expect(200)).body.data[0].id as string;
      await api(t, tenant).post(`/v1/webhooks/${ep}/test`).expect(200);
      expect(r.ofType('notification.offline').map((h) => h.body.data)).toEqual([
        expect.objectContaining({ recipient_id: 'carol', message_id: sent.body.id, conversation_id: w.groupId, conversation_type: 'group', seq: sent.body.seq, sender_id: 'alice', mentioned: true }),
      ]);
      expect(r.ofType('message.new')).toEqual([]);
    } finally {
      closeAllSockets();
    }
  });

  it('file.uploaded once confirmed and file.deleted, with metadata only (no file name)', async () => {
    const r = await receiver();
    const tenant = await createTenant(t);
    await endpoint(t, tenant, r.url, ['file.uploaded', 'file.deleted']);
    const alice = asUser(t, await userToken(t, tenant, 'alice'));
    const bytes = randomBytes(1000);
    const ticket = await alice
      .post('/v1/files')
      .send({
        size: bytes.length,
        checksum: createHash('sha256').update(bytes).digest('hex'),
        content_md5: createHash('md5').update(bytes).digest('base64'),
        mime_type: 'application/octet-stream',
        filename: 'secret-plans.pdf',
        sharing: { type: 'private' },
      })
      .expect(201);
    const put = await fetch(ticket.body.upload.url, { method: 'PUT', headers: ticket.body.upload.headers, body: bytes });
    expect(put.status).toBe(200);
    const fileId = ticket.body.file.id as string;
    await alice.post(`/v1/files/${fileId}/confirm`).expect(200);
    await waitFor(() => r.ofType('file.uploaded').length === 1, 10_000, 'file.uploaded');
    expect(r.ofType('file.uploaded')[0]!.body.data).toEqual({
      file_id: fileId,
      uploader_id: 'alice',
      mime_type: 'application/octet-stream',
      size: 1000,
      sharing: 'private',
      conversation_id: null,
      message_id: null,
    });
    expect(r.ofType('file.uploaded')[0]!.raw).not.toContain('secret-plans');
    await alice.delete(`/v1/files/${fileId}`).expect(204);
    await waitFor(() => r.ofType('file.deleted').length === 1, 10_000, 'file.deleted');
    expect(r.ofType('file.deleted')[0]!.body.data).toMatchObject({ file_id: fileId, uploader_id: 'alice' });
  });
});
