import { ConversationsService } from '@chat/chat';
import { Manager } from 'socket.io-client';
import { RealtimeGateway } from '../apps/gateway/src/realtime.gateway';
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

type SyncEntry = { conversation_id: string; messages: Array<{ id: string; seq: number }>; has_more: boolean; next_after_seq: number };

/** Pages through `sync` until has_more is false; returns every message received, in order. */
async function syncAll(socket: TestSocket, conversationId: string, afterSeq: number, limit: number) {
  const got: Array<{ id: string; seq: number }> = [];
  let cursor = afterSeq;
  let pages = 0;
  for (;;) {
    const data = await askOk<{ conversations: SyncEntry[] }>(socket, 'sync', { conversations: [{ conversation_id: conversationId, after_seq: cursor }], limit });
    const entry = data.conversations[0];
    expect(entry.messages.length).toBeLessThanOrEqual(limit);
    got.push(...entry.messages);
    cursor = entry.next_after_seq;
    pages++;
    if (!entry.has_more) return { got, pages };
    if (pages > 100) throw new Error('sync did not converge');
  }
}

describe('realtime sync after reconnect', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => t?.close());

  it('disconnect, messages sent meanwhile, reconnect: everything missed, in order, paginated; nothing missing, nothing twice', async () => {
    const w = await createRealtimeTenant(t.app);
    const conv = await w.group(['alice', 'bob']);
    const alice = await connectSocket(t.url, await w.token('alice'));
    let bob = await connectSocket(t.url, await w.token('bob'));
    for (let i = 0; i < 3; i++) await askOk(alice, 'message:send', { conversation_id: conv, content: envelope(['alice', 'bob']) });
    await nextEvent(bob, 'message:new', (m: any) => m.seq === 3);
    const lastSeen = Math.max(...receivedOf(bob, 'message:new').map((m: any) => m.seq));
    bob.close();
    // Sent while bob is away: over the socket and over REST (the service).
    for (let i = 0; i < 4; i++) await askOk(alice, 'message:send', { conversation_id: conv, content: envelope(['alice', 'bob']) });
    for (let i = 0; i < 3; i++) await sendViaService(t.app, w, 'alice', conv, ['alice', 'bob']);
    bob = await connectSocket(t.url, await w.token('bob'));
    const { got, pages } = await syncAll(bob, conv, lastSeen, 3);
    expect(got.map((m) => m.seq)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(pages).toBe(3);
    expect(new Set(got.map((m) => m.id)).size).toBe(7);
    // Nothing was sent since the reconnect, so nothing arrives live twice.
    await drained(bob);
    expect(receivedOf(bob, 'message:new')).toEqual([]);
  });

  it('with messages still arriving during the reconnect, sync plus live events cover every seq', async () => {
    const w = await createRealtimeTenant(t.app);
    const conv = await w.group(['carl', 'dina']);
    const carl = await connectSocket(t.url, await w.token('carl'));
    let sent = 0;
    const sending = (async () => {
      for (let i = 0; i < 30; i++) await askOk(carl, 'message:send', { conversation_id: conv, content: envelope(['carl', 'dina']) }).then(() => sent++);
    })();
    // dina connects with some messages already stored and the rest still to come.
    await waitFor(() => sent >= 5, 10_000, 'the first messages');
    const dina = await connectSocket(t.url, await w.token('dina'));
    const { got } = await syncAll(dina, conv, 0, 5);
    await sending;
    await nextEvent(dina, 'message:new', (m: any) => m.seq === 30).catch(() => undefined);
    const seqs = new Set([...got.map((m) => m.seq), ...receivedOf(dina, 'message:new').map((m: any) => m.seq)]);
    expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // Within sync itself, no seq twice and strictly ascending.
    expect(got.map((m) => m.seq)).toEqual([...got.map((m) => m.seq)].sort((x, y) => x - y));
    expect(new Set(got.map((m) => m.seq)).size).toBe(got.length);
  });

  it('syncs several conversations in one request and reports a lost membership per conversation', async () => {
    const w = await createRealtimeTenant(t.app);
    const c1 = await w.group(['eve', 'finn']);
    const c2 = await w.group(['finn', 'eve']);
    const c3 = await w.group(['eve', 'finn']);
    await sendViaService(t.app, w, 'eve', c1, ['eve', 'finn']);
    await sendViaService(t.app, w, 'finn', c2, ['eve', 'finn']);
    await sendViaService(t.app, w, 'finn', c2, ['eve', 'finn']);
    await w.as(() => t.app.get(ConversationsService).removeMember(c3, { kind: 'server' }, 'finn'));
    const finn = await connectSocket(t.url, await w.token('finn'));
    const data = await askOk(finn, 'sync', {
      conversations: [
        { conversation_id: c1, after_seq: 0 },
        { conversation_id: c2, after_seq: 1 },
        { conversation_id: c3, after_seq: 0 },
      ],
    });
    expect(data.conversations).toEqual([
      { conversation_id: c1, messages: [expect.objectContaining({ seq: 1 })], holes: [], has_more: false, next_after_seq: 1 },
      { conversation_id: c2, messages: [expect.objectContaining({ seq: 2, sender_id: 'finn' })], holes: [], has_more: false, next_after_seq: 2 },
      { conversation_id: c3, error: { code: 'not_found', message: 'Conversation not found' } },
    ]);
  });
});

describe('realtime graceful shutdown', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp({ env: { SHUTDOWN_GRACE_MS: '5000' } });
    b = await createTestApp({ dbName: a.dbName });
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => {
    await b?.close();
  });

  it('a stopping node finishes in-flight writes, closes its clients, who reconnect elsewhere and sync', async () => {
    const w = await createRealtimeTenant(a.app);
    const conv = await w.group(['gil', 'hal']);
    const gilToken = await w.token('gil');
    const gil = await connectSocket(a.url, gilToken);
    const hal = await connectSocket(b.url, await w.token('hal'));
    const gone = disconnected(gil, 10_000);
    const sends = Array.from({ length: 20 }, (_, i) => ask(gil, 'message:send', { conversation_id: conv, client_msg_id: `g${i}`, content: envelope(['gil', 'hal']) }));
    // Stop node A while those are in flight.
    const gateway = a.app.get(RealtimeGateway);
    await waitFor(() => gateway.inFlightEvents > 0, 5000, 'sends in flight');
    const closing = a.close();
    const acks = await Promise.all(sends.map((p) => p.catch((e: Error) => ({ error: { code: 'no_ack', message: e.message } }))));
    await closing;
    // A transport close (not a server kick) is what makes socket.io clients reconnect on their own.
    expect(await gone).toBe('transport close');
    const ok = acks.filter((r): r is { ok: true; data: any } => 'ok' in r);
    const refused = acks.filter((r) => 'error' in r);
    expect(ok.length).toBeGreaterThan(0);
    // Anything not acked was refused cleanly as retryable, never lost silently.
    for (const r of refused) expect((r as any).error.code).toBe('service_unavailable');
    // The client reconnects elsewhere, retries what was refused (same client_msg_id), then syncs.
    const again = await connectSocket(b.url, gilToken);
    for (let i = 0; i < acks.length; i++) {
      if ('error' in acks[i]) await askOk(again, 'message:send', { conversation_id: conv, client_msg_id: `g${i}`, content: envelope(['gil', 'hal']) });
    }
    const data = await askOk(again, 'sync', { conversations: [{ conversation_id: conv, after_seq: 0 }], limit: 100 });
    const synced = data.conversations[0].messages as Array<{ client_msg_id: string; seq: number }>;
    expect(synced.map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set(synced.map((m) => m.client_msg_id)).size).toBe(20);
    for (const r of ok) expect(synced.find((m) => m.seq === r.data.seq)?.client_msg_id).toBe(r.data.client_msg_id);
    // hal, on the node that stayed up, saw every acked message live.
    await nextEvent(hal, 'message:new', (m: any) => m.seq === 20);
  });
});

describe('realtime graceful shutdown: connects while draining', () => {
  let a: TestApp;
  let closing: Promise<void> | undefined;
  beforeAll(async () => {
    // A one-second group-commit window keeps the accepted writes in flight while connects are tried.
    a = await createTestApp({ env: { SHUTDOWN_GRACE_MS: '10000', MESSAGE_BATCH_WINDOW_MS: '1000' } });
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => {
    await (closing ?? a?.close());
  });

  it('refuses connects (new ones at the transport, half-open ones in the error shape) while in-flight writes finish', async () => {
    const w = await createRealtimeTenant(a.app);
    const conv = await w.group(['ian', 'jo']);
    const ian = await connectSocket(a.url, await w.token('ian'));
    const joToken = await w.token('jo');
    // An engine connection opened before the drain whose socket.io connect arrives during it (a client
    // half-way through its handshake, or a second namespace socket of a multiplexed client).
    const early = new Manager(a.url, { transports: ['websocket'], reconnection: false, autoConnect: false, forceNew: true });
    await new Promise<void>((resolve, reject) => early.open((err) => (err ? reject(err) : resolve())));

    const sends = Array.from({ length: 5 }, (_, i) => ask(ian, 'message:send', { conversation_id: conv, client_msg_id: `d${i}`, content: envelope(['ian', 'jo']) }));
    const gateway = a.app.get(RealtimeGateway);
    await waitFor(() => gateway.inFlightEvents > 0, 5000, 'sends in flight');
    closing = a.close();

    // The drain starts as the app closes: connect until a connect is refused.
    let fresh: (Error & { type?: string; data?: unknown }) | undefined;
    await waitFor(
      async () => {
        try {
          (await connectSocket(a.url, joToken)).close();
          return false;
        } catch (err) {
          fresh = err as Error & { type?: string };
          return true;
        }
      },
      5000,
      'a connect refused by the draining node',
    );
    // Refused before socket.io: a transport error, which socket.io clients retry with backoff (through
    // the load balancer, to another node). Writes accepted before the drain are still in flight.
    expect(fresh).toMatchObject({ type: 'TransportError', message: 'websocket error' });
    expect(gateway.inFlightEvents).toBeGreaterThan(0);
    // New writes on an existing connection are refused too, as retryable.
    const during = ask(ian, 'message:send', { conversation_id: conv, client_msg_id: 'late', content: envelope(['ian', 'jo']) });

    // Past the engine already: refused by the middleware, a connect_error whose data is the error shape.
    const late = early.socket('/', { auth: { token: joToken } });
    const refused = await new Promise<Error & { data?: unknown }>((resolve, reject) => {
      late.once('connect_error', resolve);
      late.once('connect', () => reject(new Error('a draining node accepted a connection')));
      late.connect();
    });
    expect(refused.data).toEqual({ error: { code: 'service_unavailable', message: expect.any(String) } });
    expect(await during).toEqual({ error: { code: 'service_unavailable', message: expect.any(String) } });

    // Every write accepted before the drain finished and was acked, each with its own seq.
    const acks = await Promise.all(sends);
    for (const ack of acks) expect(ack).toMatchObject({ ok: true, data: { conversation_id: conv } });
    expect(acks.map((r: any) => r.data.seq).sort()).toEqual([1, 2, 3, 4, 5]);
    await closing;
    late.close();
  });
});
