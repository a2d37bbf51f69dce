/* Tenant-wide user bans (sockets cut, handshakes and REST refused, unban restores, expiry on the test
 * clock; API key and admin API) and system messages (stored and delivered like any message, refused
 * to end users), on the real app (FerretDB, Redis). */
import request from 'supertest';
import { findFreePort, waitForPort } from '@chat/dev-services';
import { fakeEnvelope } from './chat-messages-helpers';
import { spawnApp } from './support/app-process';
import { api, asAdmin, asUser, createTenant, TEST_PLATFORM_ENV, TestTenant, userToken } from './support/factories';
import { moderationSuite, seedConversation } from './support/moderation-world';
import { ask, connectError, connectSocket, disconnected, nextEvent, waitFor } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';
import { useTestClock } from './support/test-clock';
import { WEBHOOK_TEST_ENV, WebhookReceiver } from './support/webhook-receiver';

jest.setTimeout(120_000);

describe('tenant-wide bans and system messages', () => {
  const suite = moderationSuite();
  let t: TestApp;
  let receiver: WebhookReceiver;
  beforeAll(() => {
    ({ t, receiver } = suite);
  });

  const group = (tenant: TestTenant): Promise<string> => seedConversation(t, tenant, ['alice', 'bob']);

  it('a ban cuts the live socket at once, refuses handshakes and REST with user_banned; unban restores', async () => {
    const tenant = await createTenant(t);
    const convId = await group(tenant);
    const key = api(t, tenant);
    await key.post('/v1/webhooks').send({ url: receiver.url, events: ['moderation.user_banned', 'moderation.user_unbanned', 'user.deactivated'] }).expect(201);
    const bobToken = await userToken(t, tenant, 'bob');
    const bob = asUser(t, bobToken);
    const socket = await connectSocket(t.url, bobToken);

    const banned = await key.put('/v1/users/bob/ban').send({ reason: 'spam' }).expect(200);
    expect(banned.body).toMatchObject({ user_id: 'bob', reason: 'spam', expires_at: null, active: true, by: { type: 'api_key', id: tenant.apiKeyId } });
    const revoked = await nextEvent(socket, 'session:revoked');
    expect(revoked).toMatchObject({ error: { code: 'user_banned' } });
    await disconnected(socket);

    const refused = await connectError(t.url, bobToken);
    expect(refused.data).toMatchObject({ error: { code: 'user_banned', details: { reason: 'spam', expires_at: null } } });
    expect((await bob.get('/v1/me').expect(403)).body.error.code).toBe('user_banned');
    expect((await bob.post(`/v1/conversations/${convId}/messages`).send({ content: fakeEnvelope(['alice', 'bob']) }).expect(403)).body.error.code).toBe('user_banned');
    // Tokens may still be issued (the ban is checked where they are used).
    expect((await key.get('/v1/users/bob/ban').expect(200)).body).toMatchObject({ user_id: 'bob', active: true });
    expect((await key.get('/v1/bans').expect(200)).body.data).toEqual([expect.objectContaining({ user_id: 'bob' })]);

    await key.delete('/v1/users/bob/ban').expect(204);
    await key.delete('/v1/users/bob/ban').expect(404);
    await bob.get('/v1/me').expect(200);
    const back = await connectSocket(t.url, bobToken);
    expect('ok' in (await ask(back, 'message:send', { conversation_id: convId, content: fakeEnvelope(['alice', 'bob']) }))).toBe(true);

    // Audit entries and webhook events; a ban is not told as a deactivation.
    const admin = asAdmin(t, tenant.adminToken);
    const audit = async (action: string) => (await admin.get(`/admin/audit-logs?tenant_id=${tenant.tenantId}&action=${action}`).expect(200)).body.data;
    expect(await audit('moderation.user_banned')).toEqual([expect.objectContaining({ actor: expect.objectContaining({ type: 'api_key', id: tenant.apiKeyId }), resource: { type: 'user', id: 'bob' } })]);
    expect(await audit('moderation.user_unbanned')).toHaveLength(1);
    const mine = () => receiver.received.filter((r) => r.body.tenant_id === tenant.tenantId);
    await waitFor(() => mine().length >= 2, { timeoutMs: 30_000 }, 'ban and unban webhooks');
    expect(mine().map((r) => r.body.type).sort()).toEqual(['moderation.user_banned', 'moderation.user_unbanned']);
    expect(mine().find((r) => r.body.type === 'moderation.user_banned')!.body.data).toMatchObject({ user_id: 'bob', reason: 'spam', by: { type: 'api_key' } });
  });

  it('across nodes: a ban made on one node cuts the socket on another; a mute there refuses its sends', async () => {
    const b = await createTestApp({ dbName: t.dbName, env: WEBHOOK_TEST_ENV });
    try {
      const tenant = await createTenant(t);
      const convId = await group(tenant);
      const bobToken = await userToken(t, tenant, 'bob');
      const onB = await connectSocket(b.url, bobToken);
      // The mute is made through node A; node B's send check reads the shared (Redis) state.
      await api(t, tenant).put(`/v1/conversations/${convId}/mutes/bob`).send({}).expect(200);
      await nextEvent(onB, 'conversation:moderation', (p: any) => p.change?.action === 'member_muted');
      const refused = await ask(onB, 'message:send', { conversation_id: convId, content: fakeEnvelope(['alice', 'bob']) });
      expect((refused as any).error.code).toBe('member_muted');

      await api(t, tenant).put('/v1/users/bob/ban').send({ reason: 'cross-node' }).expect(200);
      expect(await nextEvent(onB, 'session:revoked')).toMatchObject({ error: { code: 'user_banned' } });
      await disconnected(onB);
      expect((await connectError(b.url, bobToken)).data).toMatchObject({ error: { code: 'user_banned' } });
    } finally {
      await b.close();
    }
  });

  it('the admin app on its own (its own OS process, no gateway) bans: the socket on the gateway node is cut at once', async () => {
    const tenant = await createTenant(t);
    await group(tenant);
    const bobToken = await userToken(t, tenant, 'bob');
    const socket = await connectSocket(t.url, bobToken);
    await asUser(t, bobToken).get('/v1/me').expect(200); // the "not banned" answer is cached now
    const port = await findFreePort();
    const admin = spawnApp('apps/admin/src/main.ts', { ...TEST_PLATFORM_ENV, ...WEBHOOK_TEST_ENV, MONGODB_DB: t.dbName, PORT: String(port), HOST: '127.0.0.1' });
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitForPort(port, '127.0.0.1', 120_000, () => admin.child.exitCode === null).catch((err) => {
        throw new Error(`admin app did not listen: ${(err as Error).message}\n${admin.stdout()}${admin.stderr()}`);
      });
      await waitFor(async () => (await request(url).get('/health/ready')).status === 200, { timeoutMs: 30_000 }, 'admin app ready');
      await request(url).put(`/admin/tenants/${tenant.tenantId}/users/bob/ban`).set('Authorization', `Bearer ${tenant.adminToken}`).send({ reason: 'from admin app' }).expect(200);
      // Published over Redis by the admin process (no gateway there): bob, who sends nothing, is told and cut.
      expect(await nextEvent(socket, 'session:revoked', () => true, 30_000)).toMatchObject({ error: { code: 'user_banned' } });
      await disconnected(socket);
      // The all-in-one node's cached answer was invalidated through the shared cache.
      expect((await asUser(t, bobToken).get('/v1/me').expect(403)).body.error.code).toBe('user_banned');
      expect((await connectError(t.url, bobToken)).data).toMatchObject({ error: { code: 'user_banned' } });
      const entries = (await asAdmin(t, tenant.adminToken).get(`/admin/audit-logs?tenant_id=${tenant.tenantId}&action=moderation.user_banned`).expect(200)).body.data;
      expect(entries).toEqual([expect.objectContaining({ actor: expect.objectContaining({ type: 'admin' }), success: true })]);
    } finally {
      admin.child.kill('SIGKILL');
      await admin.exited;
    }
  });

  it('a ban with an expiry ends on the test clock; the admin API bans and unbans; other tenants cannot', async () => {
    const tenant = await createTenant(t);
    await group(tenant);
    const clock = useTestClock(t.app);
    const bobToken = await userToken(t, tenant, 'bob');
    const bob = asUser(t, bobToken);
    const key = api(t, tenant);
    const expires = new Date(clock.now() + 60_000).toISOString();
    await key.put('/v1/users/bob/ban').send({ expires_at: new Date(clock.now() - 1000).toISOString() }).expect(400);
    await key.put('/v1/users/bob/ban').send({ expires_at: expires }).expect(200);
    expect((await bob.get('/v1/me').expect(403)).body.error).toMatchObject({ code: 'user_banned', details: { expires_at: expires } });
    clock.advance(59_000);
    await bob.get('/v1/me').expect(403);
    clock.advance(1_000);
    await bob.get('/v1/me').expect(200);
    await connectSocket(t.url, bobToken);
    expect((await key.get('/v1/users/bob/ban').expect(200)).body).toMatchObject({ active: false });

    // Platform admin (owner): ban, read, unban, in the tenant given by the path.
    const admin = asAdmin(t, tenant.adminToken);
    const byAdmin = await admin.put(`/admin/tenants/${tenant.tenantId}/users/bob/ban`).send({ reason: 'report 42' }).expect(200);
    expect(byAdmin.body).toMatchObject({ user_id: 'bob', reason: 'report 42', by: { type: 'admin' } });
    expect((await bob.get('/v1/me').expect(403)).body.error.code).toBe('user_banned');
    expect((await admin.get(`/admin/tenants/${tenant.tenantId}/bans`).expect(200)).body.data).toEqual([expect.objectContaining({ user_id: 'bob' })]);
    await admin.delete(`/admin/tenants/${tenant.tenantId}/users/bob/ban`).expect(204);
    await bob.get('/v1/me').expect(200);
    const audit = (await admin.get(`/admin/audit-logs?tenant_id=${tenant.tenantId}&action=moderation.user_banned`).expect(200)).body.data;
    expect(audit.map((e: { actor: { type: string } }) => e.actor.type).sort()).toEqual(['admin', 'api_key']);

    // Another tenant's key cannot ban this tenant's user (it does not exist there), nor read the ban.
    const other = api(t, await createTenant(t));
    await other.put('/v1/users/bob/ban').send({}).expect(404);
    await key.put('/v1/users/bob/ban').send({}).expect(200);
    await other.get('/v1/users/bob/ban').expect(404);
    await other.delete('/v1/users/bob/ban').expect(404);
    await bob.get('/v1/me').expect(403);
    // A key without the moderation scope is refused.
    const narrow = await createTenant(t, { scopes: ['users:write'] });
    await userToken(t, narrow, 'bob');
    await api(t, narrow).put('/v1/users/bob/ban').send({}).expect(403);
  });

  it('a system message by API key is stored and delivered like any message, and refused to end users', async () => {
    const tenant = await createTenant(t);
    const convId = await group(tenant);
    const key = api(t, tenant);
    await key.post('/v1/webhooks').send({ url: receiver.url, events: ['message.new'] }).expect(201);
    const aliceToken = await userToken(t, tenant, 'alice');
    const alice = asUser(t, aliceToken);
    const socket = await connectSocket(t.url, aliceToken);

    const posted = await key.post(`/v1/conversations/${convId}/system-messages`).send({ text: 'Bob joined', client_msg_id: 'join-bob' }).expect(201);
    expect(posted.body).toMatchObject({ conversation_id: convId, seq: 1, sender_id: '#system', type: 'system', e2e: false, text: 'Bob joined', content: null });
    const live = await nextEvent(socket, 'message:new', (m: any) => m.id === posted.body.id);
    expect(live).toMatchObject({ type: 'system', e2e: false, text: 'Bob joined', seq: 1 });
    // A retry is answered with the original.
    expect((await key.post(`/v1/conversations/${convId}/system-messages`).send({ text: 'Bob joined', client_msg_id: 'join-bob' }).expect(200)).body.id).toBe(posted.body.id);

    // In the same seq stream as user messages: history and sync.
    await alice.post(`/v1/conversations/${convId}/messages`).send({ content: fakeEnvelope(['alice', 'bob']) }).expect(201);
    const history = (await alice.get(`/v1/conversations/${convId}/messages`).expect(200)).body.data;
    expect(history.map((m: any) => [m.seq, m.type, m.e2e])).toEqual([
      [2, 'regular', true],
      [1, 'system', false],
    ]);
    const sync = await ask(socket, 'sync', { conversations: [{ conversation_id: convId, after_seq: 0 }] });
    expect((sync as any).data.conversations[0].messages.map((m: any) => m.type)).toEqual(['system', 'regular']);
    const mine = () => receiver.received.filter((r) => r.body.tenant_id === tenant.tenantId && r.body.type === 'message.new');
    await waitFor(() => mine().length >= 2, { timeoutMs: 30_000 }, 'message.new webhooks');
    expect(mine().find((r) => r.body.data.message_id === posted.body.id)!.body.data).toMatchObject({ seq: 1, sender_id: '#system', type: 'system' });
    expect(mine().some((r) => r.raw.includes('Bob joined'))).toBe(false);

    // End users can never send one: not the route, not a system type in the envelope, not a type field.
    await alice.post(`/v1/conversations/${convId}/system-messages`).send({ text: 'fake' }).expect(401);
    await alice.post(`/v1/conversations/${convId}/messages`).send({ content: fakeEnvelope(['alice', 'bob'], { type: 'system' }) }).expect(400);
    await alice.post(`/v1/conversations/${convId}/messages`).send({ content: fakeEnvelope(['alice', 'bob']), type: 'system' }).expect(400);
    await alice.post(`/v1/conversations/${convId}/messages`).send({ content: fakeEnvelope(['alice', 'bob']), text: 'plain' }).expect(400);
    const viaSocket = await ask(socket, 'message:send', { conversation_id: convId, content: fakeEnvelope(['alice', 'bob'], { type: 'system' }) });
    expect((viaSocket as any).error.code).toBe('validation_failed');
    const typed = await ask(socket, 'message:send', { conversation_id: convId, type: 'system', text: 'x', content: fakeEnvelope(['alice', 'bob']) });
    expect((typed as any).error.code).toBe('validation_failed');
    // A key without messages:write, and an empty or oversized text, are refused.
    const narrow = await createTenant(t, { scopes: ['messages:read'] });
    await api(t, narrow).post(`/v1/conversations/${convId}/system-messages`).send({ text: 'x' }).expect(403);
    await key.post(`/v1/conversations/${convId}/system-messages`).send({ text: '' }).expect(400);
    await key.post(`/v1/conversations/${convId}/system-messages`).send({ text: 'x'.repeat(4001) }).expect(400);
    // Another tenant's key: the conversation does not exist.
    await api(t, await createTenant(t)).post(`/v1/conversations/${convId}/system-messages`).send({ text: 'x' }).expect(404);
    const count = (await alice.get(`/v1/conversations/${convId}/messages`).expect(200)).body.data.length;
    expect(count).toBe(2);

    // Frozen conversations still take the server's notices.
    await key.patch(`/v1/conversations/${convId}/moderation`).send({ frozen: true }).expect(200);
    await key.post(`/v1/conversations/${convId}/system-messages`).send({ text: 'This conversation is frozen' }).expect(201);
  });
});
