import { createHash, randomBytes } from 'node:crypto';
import { ConversationsService, UsersService } from '@chat/chat';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { OutboxSweeper, verifySignature, WebhookDispatcher, WebhookEndpointsService, WebhookOutbox } from '@chat/webhooks';
import { fakeEnvelope } from './chat-messages-helpers';
import { api, asAdmin, asUser, Client, createTenant, TestTenant, userToken } from './support/factories';
import { closeAllSockets, connectSocket, waitFor } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';
import { restoreClock, useTestClock } from './support/test-clock';
import { WEBHOOK_TEST_ENV, WebhookReceiver } from './support/webhook-receiver';


describe('webhooks against a real receiver on loopback (FerretDB, Redis)', () => {
  let t: TestApp;
  const receivers: WebhookReceiver[] = [];
  const receiver = async () => {
    const r = await new WebhookReceiver().start();
    receivers.push(r);
    return r;
  };

  beforeAll(async () => {
    t = await createTestApp({ env: WEBHOOK_TEST_ENV });
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.stop()));
    await t?.close();
  });

  interface World {
    tenant: TestTenant;
    groupId: string;
    alice: Client;
  }

  /** A tenant with alice, bob, carol in a group; alice sends over HTTP. */
  async function world(app: TestApp = t, tenant?: TestTenant): Promise<World> {
    tenant ??= await createTenant(app);
    const groupId = await TenantContext.run({ tenantId: asTenantId(tenant.tenantId) }, async () => {
      for (const id of ['alice', 'bob', 'carol']) await app.app.get(UsersService).upsert(id, { profile: { display_name: id } });
      return (await app.app.get(ConversationsService).create('alice', { type: 'group', name: 'team', member_ids: ['bob', 'carol'] })).id;
    });
    return { tenant, groupId, alice: asUser(app, await userToken(app, tenant, 'alice')) };
  }

  const send = (w: World, extra: Record<string, unknown> = {}) =>
    w.alice.post(`/v1/conversations/${w.groupId}/messages`).send({ content: fakeEnvelope(['alice', 'bob', 'carol']), ...extra }).expect(201);

  async function endpoint(app: TestApp, tenant: TestTenant, url: string, events: string[] = ['*']): Promise<{ id: string; secret: string }> {
    const res = await api(app, tenant).post('/v1/webhooks').send({ url, events, description: 'test receiver' }).expect(201);
    return { id: res.body.id, secret: res.body.secret };
  }

  const deliveries = async (tenant: TestTenant, id: string, status?: string) =>
    (await api(t, tenant).get(`/v1/webhooks/${id}/deliveries${status ? `?status=${status}` : ''}`).query({ limit: 100 }).expect(200)).body.data as Array<Record<string, any>>;

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

  it('receiver down for a while, then up: every event arrives, each once', async () => {
    const r = await receiver();
    const w = await world();
    const ep = await endpoint(t, w.tenant, r.url, ['message.new']);
    await r.stop();
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push((await send(w)).body.id);
    // Every event has been tried and refused at least once while the receiver was down.
    await waitFor(async () => (await deliveries(w.tenant, ep.id)).filter((d) => d.attempts >= 1 && d.status === 'pending').length === 5, 15_000, 'failed attempts');
    await r.start();
    await waitFor(() => new Set(r.ofType('message.new').map((h) => h.body.data.message_id)).size === 5, 15_000, 'all delivered');
    await waitFor(async () => (await deliveries(w.tenant, ep.id)).every((d) => d.status === 'delivered'), 5000, 'recorded as delivered');
    // Each event exactly once: a 2xx ends its retries.
    expect(r.ofType('message.new').map((h) => h.body.data.message_id).sort()).toEqual([...sent].sort());
    const rows = await deliveries(w.tenant, ep.id);
    const detail = await api(t, w.tenant).get(`/v1/webhooks/${ep.id}/deliveries/${rows[0]!.id}`).expect(200);
    expect(detail.body.attempt_log.length).toBeGreaterThanOrEqual(2);
    expect(detail.body.attempt_log[0]).toMatchObject({ status_code: null, error: expect.any(String) });
    expect(detail.body.attempt_log.at(-1)).toMatchObject({ status_code: 200 });
  });

  it('receiver answering 500 then 200: retried with backoff under the same X-Webhook-Id, then delivered', async () => {
    const r = await receiver();
    r.respond = (_req, nth) => (nth <= 2 ? 500 : 200);
    const w = await world();
    const ep = await endpoint(t, w.tenant, r.url, ['message.new']);
    await send(w);
    await waitFor(() => r.received.length === 3, 15_000, 'three attempts');
    expect(new Set(r.received.map((h) => h.id)).size).toBe(1);
    const [row] = await deliveries(w.tenant, ep.id);
    await waitFor(async () => (await deliveries(w.tenant, ep.id))[0]!.status === 'delivered', 5000, 'recorded as delivered');
    const detail = await api(t, w.tenant).get(`/v1/webhooks/${ep.id}/deliveries/${row!.id}`).expect(200);
    expect(detail.body.attempt_log.map((a: { status_code: number }) => a.status_code)).toEqual([500, 500, 200]);
  });

  it('410 turns the endpoint off; an admin turns it back on', async () => {
    const r = await receiver();
    r.respond = () => 410;
    const w = await world();
    const ep = await endpoint(t, w.tenant, r.url, ['message.new']);
    await send(w);
    await waitFor(async () => (await api(t, w.tenant).get(`/v1/webhooks/${ep.id}`)).body.active === false, 10_000, 'endpoint disabled');
    const shown = await api(t, w.tenant).get(`/v1/webhooks/${ep.id}`).expect(200);
    expect(shown.body.disabled_reason).toMatch(/410/);
    expect(r.received).toHaveLength(1);
    await asAdmin(t, w.tenant.adminToken).patch(`/admin/webhooks/${ep.id}`).send({ active: true }).expect(200);
    expect((await api(t, w.tenant).get(`/v1/webhooks/${ep.id}`)).body).toMatchObject({ active: true, disabled_reason: null });
  });

  it('after the retry window an event is a dead letter; replay (one, or all since a time) sends it again', async () => {
    const dispatcher = t.app.get(WebhookDispatcher);
    const sweeper = t.app.get(OutboxSweeper);
    const r = await receiver();
    r.respond = () => 503;
    const w = await world();
    const ep = await endpoint(t, w.tenant, r.url, ['message.new']);
    // The app's one Clock, held and moved by the test (dispatcher, outbox and sweeper all read it).
    const clock = useTestClock(t.app);
    try {
      await send(w);
      await waitFor(() => r.received.length >= 1, 10_000, 'first attempt');
      // 25 hours later (the window is 24): the next attempt is the last, then the row is dead.
      for (let i = 0; i < 40 && (await deliveries(w.tenant, ep.id, 'dead')).length === 0; i++) {
        clock.advance(3600_000);
        await dispatcher.runOnce();
      }
      const dead = await deliveries(w.tenant, ep.id, 'dead');
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ type: 'message.new', last_status_code: 503 });
      expect(new Date(dead[0]!.retry_until).getTime() - new Date(dead[0]!.created_at).getTime()).toBe(24 * 3600_000);

      r.respond = () => 200;
      const before = r.received.length;
      await api(t, w.tenant).post(`/v1/webhooks/${ep.id}/deliveries/${dead[0]!.id}/replay`).expect(202);
      await dispatcher.runOnce();
      await waitFor(() => r.received.length === before + 1, 10_000, 'replayed');
      expect(r.received.at(-1)!.id).toBe(dead[0]!.event_id);
      expect((await deliveries(w.tenant, ep.id, 'delivered')).map((d) => d.id)).toEqual([dead[0]!.id]);

      const all = await asAdmin(t, w.tenant.adminToken).post(`/admin/webhooks/${ep.id}/replay`).send({ since: new Date(0).toISOString() }).expect(202);
      expect(all.body).toEqual({ requeued: 1 });
      await dispatcher.runOnce();
      await waitFor(() => r.received.length === before + 2, 10_000, 'replayed since');
      await waitFor(async () => (await deliveries(w.tenant, ep.id, 'delivered')).length === 1, 5000, 'recorded');

      // WEBHOOK_HISTORY_DAYS (30) later the finished rows are gone.
      clock.advance(31 * 86400_000);
      await sweeper.sweep();
      expect(await deliveries(w.tenant, ep.id)).toEqual([]);
    } finally {
      restoreClock(t.app);
    }
  });

  it('a message and a conversation whose outbox rows were lost (crash between commit and record) are recorded by the sweeper and delivered', async () => {
    const r = await receiver();
    r.respond = () => 200;
    const tenant = await createTenant(t);
    const ep = await endpoint(t, tenant, r.url, ['message.new', 'conversation.created']);
    // The endpoint exists but this node's cached endpoint list says "none": the fast path records nothing,
    // exactly like a node killed before it wrote the rows.
    const sweeper = t.app.get(OutboxSweeper);
    const outbox = (sweeper as unknown as { outbox: { cache: Map<string, unknown> } }).outbox;
    outbox.cache.set(tenant.tenantId, { at: Date.now() + 60_000, endpoints: [] });
    const w = await world(t, tenant);
    const sent = await send(w);
    expect(await deliveries(tenant, ep.id)).toEqual([]);
    expect(await sweeper.sweep()).toBeGreaterThanOrEqual(2);
    await waitFor(() => r.ofType('message.new').length === 1 && r.ofType('conversation.created').length === 1, 10_000, 'delivered after sweep');
    expect(r.ofType('message.new')[0]!.body.data.message_id).toBe(sent.body.id);
    expect(r.ofType('conversation.created')[0]!.body.data).toEqual({ conversation_id: w.groupId, type: 'group', member_ids: expect.arrayContaining(['alice', 'bob', 'carol']) });
    // A second sweep finds nothing missing for it (other tests' tenants may have work for the sweeper).
    await sweeper.sweep();
    expect(await deliveries(tenant, ep.id)).toHaveLength(2);
    expect(r.received).toHaveLength(2);
  });

  it('two nodes on one database: every attempt is made by one node (lease), no event delivered twice except by a retry', async () => {
    const nodeB = await createTestApp({ dbName: t.dbName, env: WEBHOOK_TEST_ENV });
    try {
      const r = await receiver();
      // Every event fails once, so retries are due on both nodes' scans at the same time.
      const seen = new Set<string>();
      r.respond = (h) => (seen.has(h.id) ? 200 : (seen.add(h.id), 500));
      const w = await world();
      const ep = await endpoint(t, w.tenant, r.url, ['message.new']);
      const onB = asUser(nodeB, await userToken(nodeB, w.tenant, 'bob'));
      for (let i = 0; i < 10; i++) {
        await send(w);
        await onB.post(`/v1/conversations/${w.groupId}/messages`).send({ content: fakeEnvelope(['alice', 'bob', 'carol']) }).expect(201);
      }
      await waitFor(() => r.received.filter((h) => h.body.type === 'message.new').length >= 40, 20_000, 'all retried and delivered');
      await waitFor(async () => (await deliveries(w.tenant, ep.id)).every((d) => d.status === 'delivered'), 10_000, 'recorded');
      const rows = await deliveries(w.tenant, ep.id);
      expect(rows).toHaveLength(20);
      const perId = new Map<string, number>();
      for (const h of r.ofType('message.new')) perId.set(h.id, (perId.get(h.id) ?? 0) + 1);
      // Exactly the documented retry: one 500, one 200, same X-Webhook-Id; never a duplicate attempt.
      expect([...perId.values()].every((n) => n === 2)).toBe(true);
      for (const d of rows.slice(0, 5)) {
        const detail = await api(t, w.tenant).get(`/v1/webhooks/${ep.id}/deliveries/${d.id}`).expect(200);
        expect(detail.body.attempt_log.map((a: { status_code: number }) => a.status_code)).toEqual([500, 200]);
      }
    } finally {
      await nodeB.close();
    }
  });

  it('an endpoint created through one node hears at once a message sent through another (no propagation window)', async () => {
    const nodeB = await createTestApp({ dbName: t.dbName, env: WEBHOOK_TEST_ENV });
    // B's clock stands still, so whatever B keeps about endpoints stays within any re-check period it has.
    useTestClock(nodeB.app);
    try {
      const r = await receiver();
      r.respond = () => 200;
      const w = await world();
      const onB = asUser(nodeB, await userToken(nodeB, w.tenant, 'bob'));
      const sendOnB = () => onB.post(`/v1/conversations/${w.groupId}/messages`).send({ content: fakeEnvelope(['alice', 'bob', 'carol']) }).expect(201);
      // B records this tenant's events while it has no endpoint: B has looked and found none.
      await sendOnB();
      await endpoint(t, w.tenant, r.url, ['message.new']);
      const sent = await sendOnB();
      await waitFor(() => r.ofType('message.new').some((h) => h.body.data.message_id === sent.body.id), 10_000, 'the message sent through B delivered');
    } finally {
      restoreClock(nodeB.app);
      await nodeB.close();
    }
  });

  it('delivery never slows the send path: sends are answered while the receiver holds every webhook', async () => {
    const r = await receiver();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    r.respond = async () => {
      await held;
      return 200;
    };
    const quiet = await world();
    const hooked = await world();
    await endpoint(t, hooked.tenant, r.url, ['*']);
    const timed = async (w: World) => {
      const start = performance.now();
      await send(w);
      return performance.now() - start;
    };
    await timed(quiet); // warm-up
    // Interleaved, so drift in machine load hits both series alike.
    const without: number[] = [];
    const withHooks: number[] = [];
    for (let i = 0; i < 30; i++) {
      without.push(await timed(quiet));
      withHooks.push(await timed(hooked));
    }
    without.sort((a, b) => a - b);
    withHooks.sort((a, b) => a - b);
    // Every send was answered although no webhook has been answered yet.
    await waitFor(() => r.received.length >= 1, 10_000, 'webhooks in flight');
    const p = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * q))]!.toFixed(1);
    console.log(`send latency ms without endpoint p50=${p(without, 0.5)} p95=${p(without, 0.95)}; with endpoint (receiver holding) p50=${p(withHooks, 0.5)} p95=${p(withHooks, 0.95)}`);
    release();
    await waitFor(() => new Set(r.ofType('message.new').map((h) => h.id)).size === 30, 20_000, 'all delivered once released');
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
  it("one endpoint's backlog (held by a slow receiver) does not hold up another endpoint's events", async () => {
    const slow = await receiver();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    slow.respond = async () => {
      await held;
      return 200;
    };
    const fast = await receiver();
    const a = await createTenant(t);
    const epA = await endpoint(t, a, slow.url, ['message.new']);
    try {
      // A backlog larger than one dispatcher scan (100 rows), all due now.
      const outbox = t.app.get(WebhookOutbox);
      const doc = await t.app.get(WebhookEndpointsService).get(epA.id);
      const now = new Date();
      await outbox.insert(
        Array.from({ length: 150 }, (_, i) => outbox.row(doc, `evt_backlog_${epA.id}_${i}`, 'message.new', { id: `evt_backlog_${i}`, type: 'message.new', data: {} }, now)),
      );
      await waitFor(() => slow.received.length >= 1, 10_000, 'slow receiver busy');
      const w = await world();
      await endpoint(t, w.tenant, fast.url, ['message.new']);
      await send(w);
      await waitFor(() => fast.ofType('message.new').length === 1, 10_000, 'the other endpoint still gets its event');
    } finally {
      release();
      await api(t, a).delete(`/v1/webhooks/${epA.id}`).expect(200);
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
