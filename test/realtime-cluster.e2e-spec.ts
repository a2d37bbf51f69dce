import { ConversationsService } from '@chat/chat';
import { TenantService } from '@chat/platform';
import { PresenceTracker } from '@chat/realtime';
import { RedisService } from '@chat/redis';
import { socketAdapterOf } from '../apps/gateway/src/socket-adapter';
import {
  ask,
  askOk,
  closeAllSockets,
  connectSocket,
  createRealtimeTenant,
  disconnected,
  drained,
  envelope,
  nextEvent,
  receivedOf,
  sendViaService,
  TestSocket,
  waitFor,
} from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';
import { restoreClock, TestClock, useTestClock } from './support/test-clock';

/**
 * Two gateway nodes in one jest process: two apps on the same database and the same Redis, each with
 * its own socket.io server, Redis adapter, presence heartbeat and platform-event subscriber.
 */
describe('realtime across two gateway nodes (shared Redis and database)', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp();
    b = await createTestApp({ dbName: a.dbName });
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('users on different nodes chat, see typing and read receipts', async () => {
    const w = await createRealtimeTenant(a.app);
    const conv = await w.group(['alice', 'bob']);
    const alice = await connectSocket(a.url, await w.token('alice'));
    const bob = await connectSocket(b.url, await w.token('bob'));
    const sent = await askOk(alice, 'message:send', { conversation_id: conv, client_msg_id: 'x1', content: envelope(['alice', 'bob']) });
    expect(await nextEvent(bob, 'message:new')).toMatchObject({ id: sent.id, seq: sent.seq, sender_id: 'alice' });
    const reply = await askOk(bob, 'message:send', { conversation_id: conv, content: envelope(['alice', 'bob']) });
    expect(await nextEvent(alice, 'message:new', (m: any) => m.sender_id === 'bob')).toMatchObject({ id: reply.id, seq: sent.seq + 1 });
    // A retried send on the other node is still one message.
    const aliceOnB = await connectSocket(b.url, await w.token('alice'));
    const retried = await askOk(aliceOnB, 'message:send', { conversation_id: conv, client_msg_id: 'x1', content: envelope(['alice', 'bob']) });
    expect(retried).toEqual({ ...sent, duplicate: true });

    await askOk(bob, 'typing:start', { conversation_id: conv });
    expect(await nextEvent(alice, 'typing')).toEqual({ conversation_id: conv, user_id: 'bob', typing: true });
    await askOk(bob, 'conversation:read', { conversation_id: conv, seq: reply.seq });
    expect(await nextEvent(alice, 'conversation:read')).toEqual({ conversation_id: conv, user_id: 'bob', seq: reply.seq });

    // A write on node A through the service (as REST does) reaches a socket on node B.
    const viaRest = await sendViaService(a.app, w, 'alice', conv, ['alice', 'bob']);
    expect(await nextEvent(bob, 'message:new', (m: any) => m.id === viaRest.message.id)).toBeTruthy();
    expect(new Set(receivedOf(bob, 'message:new').map((m: any) => m.id)).size).toBe(receivedOf(bob, 'message:new').length);
  });

  it('presence is right across nodes: online while any socket on any node is connected', async () => {
    const w = await createRealtimeTenant(a.app);
    const conv = await w.group(['carol', 'dan']);
    expect(conv).toBeTruthy();
    const watcher = await connectSocket(a.url, await w.token('carol'));
    const danOnA = await connectSocket(a.url, await w.token('dan'));
    expect(await nextEvent(watcher, 'presence', (p: any) => p.user_id === 'dan')).toEqual({ user_id: 'dan', status: 'online' });
    const danOnB = await connectSocket(b.url, await w.token('dan'));
    // Events are handled once the socket has joined its rooms and counts as online.
    await askOk(danOnB, 'presence:query', { user_ids: ['dan'] });
    danOnA.close();
    // Still online through node B: asked on node B and on node A.
    const q = await askOk(watcher, 'presence:query', { user_ids: ['dan'] });
    expect(q.users).toEqual([{ user_id: 'dan', status: 'online', last_seen: null }]);
    // Node A has handled that disconnect once its field is gone from dan's presence record.
    const redis = a.app.get(RedisService);
    const record = redis.key('rt', 't', w.tenantId, 'presence', 'dan');
    const fieldOfA = `n:${a.app.get(PresenceTracker).nodeId}`;
    await waitFor(async () => (await redis.client!.hexists(record, fieldOfA)) === 0, { what: "node A's presence field of dan to go" });
    await drained(watcher);
    expect(receivedOf(watcher, 'presence', (p: any) => p.user_id === 'dan' && p.status === 'offline')).toEqual([]);
    danOnB.close();
    expect(await nextEvent(watcher, 'presence', (p: any) => p.user_id === 'dan' && p.status === 'offline')).toEqual({
      user_id: 'dan',
      status: 'offline',
      last_seen: expect.any(String),
    });
    // Exactly once: a wrong "offline" from node A (sent before node B's) would be a second one.
    expect(receivedOf(watcher, 'presence', (p: any) => p.user_id === 'dan' && p.status === 'offline')).toHaveLength(1);
  });

  it("a crashed node's users expire: the others sweep them and announce offline", async () => {
    const crashing = await createTestApp({ dbName: a.dbName, env: { PRESENCE_NODE_TTL_MS: '1000' } });
    try {
      const w = await createRealtimeTenant(a.app);
      await w.group(['kai', 'lou']);
      const kai = await connectSocket(a.url, await w.token('kai'));
      await connectSocket(crashing.url, await w.token('lou'));
      expect(await nextEvent(kai, 'presence', (p: any) => p.user_id === 'lou')).toEqual({ user_id: 'lou', status: 'online' });
      // The node goes silent: no more heartbeats, its sockets are never cleanly closed.
      await crashing.app.get(PresenceTracker).stop({ clean: false });
      // Its heartbeat key expires in Redis after PRESENCE_NODE_TTL_MS: sweep until a sweep finds it gone.
      const louOffline = (p: any) => p.user_id === 'lou' && p.status === 'offline';
      await waitFor(async () => (await a.app.get(PresenceTracker).sweep(), receivedOf(kai, 'presence', louOffline).length > 0), {
        timeoutMs: 15_000,
        intervalMs: 100,
        what: 'the crashed node to be swept',
      });
      expect(await nextEvent(kai, 'presence', louOffline)).toEqual({
        user_id: 'lou',
        status: 'offline',
        last_seen: expect.any(String),
      });
      expect((await askOk(kai, 'presence:query', { user_ids: ['lou'] })).users[0].status).toBe('offline');
    } finally {
      await crashing.close();
    }
  });

  it('a member removed through node A stops receiving on node B at once', async () => {
    const w = await createRealtimeTenant(a.app);
    const conv = await w.group(['erin', 'fay', 'gus']);
    const erin = await connectSocket(a.url, await w.token('erin'));
    const fay = await connectSocket(b.url, await w.token('fay'));
    const gus = await connectSocket(b.url, await w.token('gus'));
    await w.as(() => a.app.get(ConversationsService).removeMember(conv, { kind: 'server' }, 'gus'));
    // No waiting for the event: the very next message must already skip gus.
    const sent = await askOk(erin, 'message:send', { conversation_id: conv, content: envelope(['erin', 'fay']) });
    await nextEvent(fay, 'message:new', (m: any) => m.id === sent.id);
    expect(await nextEvent(gus, 'member:removed')).toEqual({ conversation_id: conv, user_ids: ['gus'], by: null });
    // gus is on node B with fay: a message node B sent to fay it would have sent to gus then.
    await drained(gus);
    expect(receivedOf(gus, 'message:new')).toEqual([]);
  });

  it('a suspended tenant is cut off on both nodes; other tenants are not', async () => {
    const w = await createRealtimeTenant(a.app);
    const other = await createRealtimeTenant(a.app);
    const onA = await connectSocket(a.url, await w.token('h1'));
    const onB = await connectSocket(b.url, await w.token('h2'));
    const bystander = await connectSocket(b.url, await other.token('h1'));
    // Only the suspension event disconnects them (nothing polls the tenant's status): a disconnect at
    // all shows it went through; the deadline only bounds a failing test.
    const goneA = disconnected(onA, 10_000);
    const goneB = disconnected(onB, 10_000);
    await a.app.get(TenantService).suspend(w.tenantId, 'test');
    expect(await goneA).toBe('io server disconnect');
    expect(await goneB).toBe('io server disconnect');
    expect(receivedOf(onB, 'tenant:suspended')).toEqual([{ error: { code: 'tenant_suspended', message: expect.any(String) } }]);
    expect(bystander.connected).toBe(true);
  });

  it('the adapter heartbeat revives a subscriber whose connection went silent (half-open TCP)', async () => {
    const w = await createRealtimeTenant(a.app);
    const conv = await w.group(['ivy', 'jon']);
    const ivy = await connectSocket(a.url, await w.token('ivy'));
    const jon = await connectSocket(b.url, await w.token('jon'));
    const adapter = socketAdapterOf(b.app)!;
    const sub = adapter.subscriber!;
    expect(await adapter.checkSubscriber(1000)).toBe(true);
    // Stop reading from the socket: nothing arrives and nothing errors, like a half-open connection.
    sub.stream.pause();
    const lost = await askOk(ivy, 'message:send', { conversation_id: conv, content: envelope(['ivy', 'jon']) });
    // The heartbeat's probe goes unanswered for its 200 ms; meanwhile the message did not cross either.
    expect(await adapter.checkSubscriber(200)).toBe(false);
    expect(receivedOf(jon, 'message:new', (m: any) => m.id === lost.id)).toEqual([]);
    // ioredis reconnects and resubscribes; cross-node messages flow again.
    await new Promise<void>((resolve) => sub.once('ready', () => resolve()));
    // The resubscribe completes a round trip after 'ready': send until one message crosses over.
    let crossed = false;
    for (let i = 0; i < 20 && !crossed; i++) {
      const after = await askOk(ivy, 'message:send', { conversation_id: conv, content: envelope(['ivy', 'jon']) });
      crossed = await nextEvent(jon, 'message:new', (m: any) => m.id === after.id, 500).then(() => true, () => false);
    }
    expect(crossed).toBe(true);
    expect(await adapter.checkSubscriber(1000)).toBe(true);
  });
});

describe('realtime across two gateway nodes: the per-tenant socket rate limit', () => {
  const LIMIT = 8;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    const env = { SOCKET_TENANT_EVENTS_PER_SECOND: String(LIMIT) };
    a = await createTestApp({ env });
    b = await createTestApp({ dbName: a.dbName, env });
  });
  afterEach(() => {
    closeAllSockets();
    restoreClock(a.app);
    restoreClock(b.app);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('is one budget over both nodes: events on node A use up what node B may accept; other tenants are untouched', async () => {
    // The budget is a fixed one-second window. Both nodes read one clock the test holds at a window's
    // start, so the burst falls in one window however long it takes.
    const clock = new TestClock(Math.floor(Date.now() / 1000) * 1000);
    useTestClock(a.app, clock);
    useTestClock(b.app, clock);
    const w = await createRealtimeTenant(a.app);
    const conv = await w.group(['pia', 'quin']);
    const other = await createRealtimeTenant(a.app);
    const otherConv = await other.group(['ro', 'sy']);
    const onA = await connectSocket(a.url, await w.token('pia'));
    const onB = await connectSocket(b.url, await w.token('quin'));
    const bystander = await connectSocket(b.url, await other.token('ro'));
    const typing = (s: TestSocket, c: string, n: number) => Promise.all(Array.from({ length: n }, () => ask(s, 'typing:stop', { conversation_id: c })));

    const fromA = await typing(onA, conv, LIMIT);
    const fromB = await typing(onB, conv, 3);
    const otherTenant = await typing(bystander, otherConv, 1);
    // Node A took the whole budget; node B, which had seen none of those events, refuses its own.
    expect(fromA.every((r) => 'ok' in r)).toBe(true);
    expect(fromB).toEqual(
      Array.from({ length: 3 }, () => ({
        error: { code: 'rate_limited', message: 'Too many socket events for this tenant', details: { retry_after_seconds: expect.any(Number) } },
      })),
    );
    expect(otherTenant).toEqual([{ ok: true, data: expect.anything() }]);
    // The next window opens the budget again, on either node.
    clock.advance(1000);
    expect(await ask(onB, 'typing:stop', { conversation_id: conv })).toMatchObject({ ok: true });
  });
});
