import { JwtService } from '@nestjs/jwt';
import request from 'supertest';
import { ConversationsService, MessagesService } from '@chat/chat';
import { TenantService } from '@chat/platform';
import {
  ask,
  askOk,
  closeAllSockets,
  connectError,
  connectSocket,
  createRealtimeTenant,
  disconnected,
  drained,
  envelope,
  nextEvent,
  receivedOf,
  sendViaService,
  waitFor,
} from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';
import { restoreClock, useTestClock } from './support/test-clock';

/** One gateway node against the real services: handshake, events and acks, fan-out, membership. */
describe('realtime gateway (one node)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { SOCKET_EVENTS_PER_SECOND: '200', SOCKET_EVENTS_BURST: '400', TYPING_THROTTLE_MS: '300' } });
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => t?.close());

  describe('handshake', () => {
    it('refuses missing, malformed, wrongly signed and expired tokens with the error shape, and keeps serving', async () => {
      const w = await createRealtimeTenant(t.app);
      const good = await w.token('alice');
      const [, payload] = good.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const jwt = new JwtService({});
      const cases: Array<[string, string | undefined]> = [
        ['missing', undefined],
        ['malformed', 'not-a-jwt'],
        ['garbage segments', 'a.b.c'],
        ['wrong signature', jwt.sign({ ...claims }, { secret: 'x'.repeat(40), algorithm: 'HS256' })],
        ['expired', jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 }, { secret: w.secret, algorithm: 'HS256' })],
        ['alg none', `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`],
      ];
      for (const [what, token] of cases) {
        const err = await connectError(t.url, token);
        expect({ what, data: err.data }).toEqual({ what, data: { error: { code: 'unauthorized', message: expect.any(String) } } });
      }
      // Non-string tokens must not crash anything either.
      for (const auth of [{ token: 42 }, { token: { a: 1 } }, { token: ['x'] }, { token: null }]) {
        const err = await connectError(t.url, undefined, { auth: auth as any });
        expect(err.data.error.code).toBe('unauthorized');
      }
      const s = await connectSocket(t.url, good);
      expect(s.connected).toBe(true);
    });

    it('closes a connection when its token expires', async () => {
      const w = await createRealtimeTenant(t.app);
      // A real timer on the token's real expiry (whole seconds): 3 s leaves the handshake 2 s or more
      // on a loaded machine.
      const s = await connectSocket(t.url, await w.token('short', 3));
      const gone = disconnected(s, 10_000);
      expect(await nextEvent(s, 'session:expired', () => true, 10_000)).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
      expect(await gone).toBe('io server disconnect');
    });

    it('refuses a suspended tenant with tenant_suspended', async () => {
      const w = await createRealtimeTenant(t.app);
      const token = await w.token('bob');
      await t.app.get(TenantService).suspend(w.tenantId);
      const err = await connectError(t.url, token);
      expect(err.data).toEqual({ error: { code: 'tenant_suspended', message: expect.any(String) } });
    });

    it('refuses connections beyond the tenant connection quota', async () => {
      const w = await createRealtimeTenant(t.app, { concurrent_connections: 2 });
      const token = await w.token('carol');
      await connectSocket(t.url, token);
      await connectSocket(t.url, token);
      const err = await connectError(t.url, token);
      expect(err.data.error.code).toBe('quota_exceeded');
    });
  });

  describe('messages', () => {
    it('acks a send only once stored (id and seq), fans it out, and answers a repeated client_msg_id with the original ack and no second broadcast', async () => {
      const w = await createRealtimeTenant(t.app);
      const conv = await w.group(['a1', 'b1']);
      const a = await connectSocket(t.url, await w.token('a1'));
      const b = await connectSocket(t.url, await w.token('b1'));
      const payload = { conversation_id: conv, client_msg_id: 'cm-1', content: envelope(['a1', 'b1']) };
      const ack = await askOk(a, 'message:send', payload);
      expect(ack).toEqual({ id: expect.any(String), conversation_id: conv, seq: 1, client_msg_id: 'cm-1', created_at: expect.any(String), duplicate: false });
      // Durable: the service reads it back.
      const stored = await w.as(() => t.app.get(MessagesService).get('b1', conv, ack.id));
      expect(stored.seq).toBe(1);
      const got = await nextEvent(b, 'message:new');
      expect(got).toMatchObject({ id: ack.id, seq: 1, sender_id: 'a1', conversation_id: conv, content: { encrypted_data: payload.content.encrypted_data } });
      const again = await askOk(a, 'message:send', payload);
      expect(again).toEqual({ ...ack, duplicate: true });
      const next = await askOk(a, 'message:send', { conversation_id: conv, client_msg_id: 'cm-2', content: envelope(['a1', 'b1']) });
      expect(next.seq).toBe(2);
      await nextEvent(b, 'message:new', (m: any) => m.seq === 2);
      expect(receivedOf(b, 'message:new').map((m: any) => m.seq)).toEqual([1, 2]);
    });

    it("one socket's sends, emitted without waiting for acks, are stored in the order they were emitted (cold caches too)", async () => {
      const w = await createRealtimeTenant(t.app);
      const conv = await w.group(['o1', 'o2', 'o3']);
      const a = await connectSocket(t.url, await w.token('o1'));
      const b = await connectSocket(t.url, await w.token('o2'));
      // Two rounds: the first meets cold caches (members, keys), the second warm ones.
      for (const round of [0, 1]) {
        const ids = Array.from({ length: 12 }, (_, i) => `ord-${round}-${i}`);
        const acks = await Promise.all(ids.map((id) => askOk(a, 'message:send', { conversation_id: conv, client_msg_id: id, content: envelope(['o1', 'o2', 'o3']) })));
        const seqs = acks.map((x) => x.seq as number);
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
        await nextEvent(b, 'message:new', (m: any) => m.client_msg_id === ids[ids.length - 1]);
        const live = receivedOf(b, 'message:new', (m: any) => ids.includes(m.client_msg_id)).map((m: any) => m.client_msg_id);
        expect(live).toEqual(ids);
      }
    });

    it('messages sent over REST (the same service) reach sockets', async () => {
      const w = await createRealtimeTenant(t.app);
      const conv = await w.group(['a2', 'b2']);
      const b = await connectSocket(t.url, await w.token('b2'));
      const { message } = await sendViaService(t.app, w, 'a2', conv, ['a2', 'b2']);
      expect(await nextEvent(b, 'message:new')).toMatchObject({ id: message.id, seq: message.seq });
    });

    it('a message sent over HTTP (POST /v1/conversations/:id/messages) reaches sockets once, and its retry does not', async () => {
      const w = await createRealtimeTenant(t.app);
      const conv = await w.group(['ah', 'bh']);
      const b = await connectSocket(t.url, await w.token('bh'));
      const body = { client_msg_id: 'http-1', content: envelope(['ah', 'bh']) };
      const token = await w.token('ah');
      const res = await request(t.url).post(`/v1/conversations/${conv}/messages`).set('Authorization', `Bearer ${token}`).send(body).expect(201);
      expect(await nextEvent(b, 'message:new')).toMatchObject({ id: res.body.id, seq: res.body.seq });
      await request(t.url).post(`/v1/conversations/${conv}/messages`).set('Authorization', `Bearer ${token}`).send(body).expect(200);
      // A next message goes out the same way after the retry: once it is in, a second event would be too.
      const next = await request(t.url).post(`/v1/conversations/${conv}/messages`).set('Authorization', `Bearer ${token}`).send({ ...body, client_msg_id: 'http-2' }).expect(201);
      await nextEvent(b, 'message:new', (m: any) => m.id === next.body.id);
      expect(receivedOf(b, 'message:new').map((m: any) => m.id)).toEqual([res.body.id, next.body.id]);
    });

    it('edits, deletes, reactions and read receipts are acked and fanned out', async () => {
      const w = await createRealtimeTenant(t.app);
      const conv = await w.group(['a3', 'b3']);
      const a = await connectSocket(t.url, await w.token('a3'));
      const b = await connectSocket(t.url, await w.token('b3'));
      const sent = await askOk(a, 'message:send', { conversation_id: conv, content: envelope(['a3', 'b3']) });
      const edited = await askOk(a, 'message:edit', { conversation_id: conv, message_id: sent.id, content: envelope(['a3', 'b3']) });
      expect(edited).toMatchObject({ id: sent.id, seq: sent.seq, edited_at: expect.any(String) });
      expect(await nextEvent(b, 'message:updated')).toMatchObject({ id: sent.id, edited_at: expect.any(String) });

      const reacted = await askOk(b, 'reaction:add', { conversation_id: conv, message_id: sent.id, emoji: '👍' });
      expect(reacted.reactions).toEqual([{ user_id: 'b3', emoji: '👍', created_at: expect.any(String) }]);
      expect(await nextEvent(a, 'reaction:added')).toEqual({ conversation_id: conv, message_id: sent.id, user_id: 'b3', emoji: '👍' });
      await askOk(b, 'reaction:remove', { conversation_id: conv, message_id: sent.id, emoji: '👍' });
      expect(await nextEvent(a, 'reaction:removed')).toEqual({ conversation_id: conv, message_id: sent.id, user_id: 'b3', emoji: '👍' });

      const read = await askOk(b, 'conversation:read', { conversation_id: conv, seq: sent.seq });
      expect(read).toMatchObject({ conversation_id: conv, user_id: 'b3', last_read_seq: sent.seq });
      expect(await nextEvent(a, 'conversation:read')).toEqual({ conversation_id: conv, user_id: 'b3', seq: sent.seq });

      const deleted = await askOk(a, 'message:delete', { conversation_id: conv, message_id: sent.id });
      expect(deleted).toEqual({ id: sent.id, conversation_id: conv, seq: sent.seq, deleted_at: expect.any(String) });
      expect(await nextEvent(b, 'message:deleted')).toEqual({ conversation_id: conv, message_id: sent.id, seq: sent.seq, deleted_at: deleted.deleted_at });
    });
  });

  describe('membership and tenancy', () => {
    it('a non-member neither receives nor can act; another tenant behaves like a missing conversation', async () => {
      const w = await createRealtimeTenant(t.app);
      const other = await createRealtimeTenant(t.app);
      const conv = await w.group(['a4', 'b4']);
      await w.token('outsider');
      const outsider = await connectSocket(t.url, await w.token('outsider'));
      const foreign = await connectSocket(t.url, await other.token('a4')); // same external id, other tenant
      const b = await connectSocket(t.url, await w.token('b4'));
      for (const s of [outsider, foreign]) {
        for (const [event, payload] of [
          ['message:send', { conversation_id: conv, content: envelope(['a4', 'b4']) }],
          ['typing:start', { conversation_id: conv }],
          ['conversation:read', { conversation_id: conv, seq: 1 }],
          ['sync', { conversations: [{ conversation_id: conv, after_seq: 0 }] }],
        ] as const) {
          const res = await ask(s, event, payload);
          const err = event === 'sync' ? (res as any).data.conversations[0] : res;
          expect({ event, err }).toEqual({ event, err: expect.objectContaining({ error: { code: 'not_found', message: 'Conversation not found' } }) });
        }
      }
      await sendViaService(t.app, w, 'a4', conv, ['a4', 'b4']);
      await nextEvent(b, 'message:new');
      await Promise.all([drained(outsider), drained(foreign)]);
      expect(receivedOf(outsider, 'message:new')).toEqual([]);
      expect(receivedOf(foreign, 'message:new')).toEqual([]);
      expect(receivedOf(outsider, 'typing')).toEqual([]);
    });

    it('a removed member is told and stops receiving at once; an added member starts receiving', async () => {
      const w = await createRealtimeTenant(t.app);
      const conv = await w.group(['a5', 'b5', 'c5']);
      await w.token('d5');
      const a = await connectSocket(t.url, await w.token('a5'));
      const b = await connectSocket(t.url, await w.token('b5'));
      const c = await connectSocket(t.url, await w.token('c5'));
      const d = await connectSocket(t.url, await w.token('d5'));
      const convs = t.app.get(ConversationsService);
      await w.as(() => convs.removeMember(conv, { kind: 'server' }, 'c5'));
      expect(await nextEvent(c, 'member:removed')).toEqual({ conversation_id: conv, user_ids: ['c5'], by: null });
      expect(await nextEvent(b, 'member:removed')).toEqual({ conversation_id: conv, user_ids: ['c5'], by: null });
      // Straight after the removal: the removed member gets nothing more.
      const sent = await askOk(a, 'message:send', { conversation_id: conv, content: envelope(['a5', 'b5']) });
      await nextEvent(b, 'message:new', (m: any) => m.id === sent.id);
      await askOk(a, 'typing:start', { conversation_id: conv });
      await nextEvent(b, 'typing');
      await drained(c);
      expect(receivedOf(c, 'message:new')).toEqual([]);
      expect(receivedOf(c, 'typing')).toEqual([]);
      expect(await ask(c, 'message:send', { conversation_id: conv, content: envelope(['a5', 'b5']) })).toEqual({ error: { code: 'not_found', message: 'Conversation not found' } });

      await w.as(() => convs.addMembers(conv, { kind: 'server' }, ['d5']));
      expect(await nextEvent(d, 'member:added')).toEqual({ conversation_id: conv, user_ids: ['d5'], by: null });
      const sent2 = await askOk(a, 'message:send', { conversation_id: conv, content: envelope(['a5', 'b5', 'd5']) });
      expect(await nextEvent(d, 'message:new')).toMatchObject({ id: sent2.id });
    });

    it('a new conversation is announced to its members, who then receive its messages', async () => {
      const w = await createRealtimeTenant(t.app);
      await w.token('a6');
      const b = await connectSocket(t.url, await w.token('b6'));
      const conv = await w.group(['a6', 'b6']);
      expect(await nextEvent(b, 'conversation:new')).toMatchObject({ id: conv });
      const { message } = await sendViaService(t.app, w, 'a6', conv, ['a6', 'b6']);
      expect(await nextEvent(b, 'message:new')).toMatchObject({ id: message.id });
    });
  });

  describe('typing and presence', () => {
    it('relays typing to the other members (not back to the typist), throttled, never stored', async () => {
      const w = await createRealtimeTenant(t.app);
      const conv = await w.group(['a7', 'b7']);
      const a = await connectSocket(t.url, await w.token('a7'));
      const a2 = await connectSocket(t.url, await w.token('a7')); // the typist's other device
      const b = await connectSocket(t.url, await w.token('b7'));
      expect(await askOk(a, 'typing:start', { conversation_id: conv })).toEqual({ relayed: true });
      expect(await askOk(a, 'typing:start', { conversation_id: conv })).toEqual({ relayed: false });
      expect(await nextEvent(b, 'typing')).toEqual({ conversation_id: conv, user_id: 'a7', typing: true });
      expect(await askOk(a, 'typing:stop', { conversation_id: conv })).toEqual({ relayed: true });
      expect(await nextEvent(b, 'typing', (e: any) => !e.typing)).toEqual({ conversation_id: conv, user_id: 'a7', typing: false });
      expect(receivedOf(a2, 'typing')).toEqual([]);
      expect(receivedOf(a, 'typing')).toEqual([]);
      const history = await w.as(() => t.app.get(MessagesService).sync('b7', conv, 0, 10));
      expect(history.data).toEqual([]);
    });

    it('announces online and offline (with last_seen) to conversation partners, and answers presence:query', async () => {
      const w = await createRealtimeTenant(t.app);
      await w.group(['a8', 'b8']);
      const b = await connectSocket(t.url, await w.token('b8'));
      const a = await connectSocket(t.url, await w.token('a8'));
      expect(await nextEvent(b, 'presence', (p: any) => p.user_id === 'a8')).toEqual({ user_id: 'a8', status: 'online' });
      const q = await askOk(b, 'presence:query', { user_ids: ['a8', 'nobody'] });
      expect(q.users).toEqual([
        { user_id: 'a8', status: 'online', last_seen: null },
        { user_id: 'nobody', status: 'offline', last_seen: null },
      ]);
      a.close();
      const off = await nextEvent(b, 'presence', (p: any) => p.user_id === 'a8' && p.status === 'offline');
      expect(off).toEqual({ user_id: 'a8', status: 'offline', last_seen: expect.any(String) });
    });
  });

  describe('bad input', () => {
    it('answers every malformed payload with the error shape and keeps the socket', async () => {
      const w = await createRealtimeTenant(t.app);
      const conv = await w.group(['a9', 'b9']);
      const a = await connectSocket(t.url, await w.token('a9'));
      const bad: Array<[string, unknown]> = [
        ['message:send', undefined],
        ['message:send', 'hello'],
        ['message:send', { conversation_id: conv }],
        ['message:send', { conversation_id: conv, content: envelope(['a9']), extra: 1 }],
        ['message:send', { conversation_id: 'not-an-id', content: envelope(['a9', 'b9']) }],
        ['message:edit', { conversation_id: conv }],
        ['reaction:add', { conversation_id: conv, message_id: conv, emoji: 'two words' }],
        ['typing:start', [conv]],
        ['conversation:read', { conversation_id: conv, seq: -1 }],
        ['sync', { conversations: [] }],
        ['sync', { conversations: [{ conversation_id: conv, after_seq: 'x' }] }],
        ['presence:query', { user_ids: 'a9' }],
      ];
      for (const [event, payload] of bad) {
        const res = await ask(a, event, payload);
        expect({ event, payload, res }).toEqual({ event, payload, res: { error: { code: 'validation_failed', message: expect.any(String), details: expect.anything() } } });
      }
      expect(await ask(a, 'no:such:event', {})).toEqual({ error: { code: 'bad_request', message: 'Unknown event "no:such:event"' } });
      // "error" is a name like any other to the client: it is answered too, not left without an ack.
      expect(await ask(a, 'error', {}, 3000)).toEqual({ error: { code: 'bad_request', message: 'Unknown event "error"' } });
      expect(await ask(a, 'error', undefined, 3000)).toEqual({ error: { code: 'bad_request', message: 'Unknown event "error"' } });
      // No ack callback, an event named "error", a reserved-looking name: nothing breaks.
      a.emit('message:send', { conversation_id: conv });
      a.emit('error', 'boom');
      a.emit('typing:start');
      expect(await askOk(a, 'typing:start', { conversation_id: conv })).toEqual({ relayed: true });
      expect(a.connected).toBe(true);
    });

    it('refuses oversized payloads with payload_too_large', async () => {
      const w = await createRealtimeTenant(t.app);
      const conv = await w.group(['a10', 'b10']);
      const a = await connectSocket(t.url, await w.token('a10'));
      const res = await ask(a, 'message:send', { conversation_id: conv, content: { ...envelope(['a10', 'b10']), encrypted_data: 'A'.repeat(140 * 1024) } });
      expect(res).toEqual({ error: { code: 'payload_too_large', message: expect.any(String) } });
      expect(a.connected).toBe(true);
    });
  });
});

describe('realtime gateway: rate limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { SOCKET_EVENTS_PER_SECOND: '5', SOCKET_EVENTS_BURST: '5', SOCKET_TENANT_EVENTS_PER_SECOND: '6' } });
  });
  afterEach(() => {
    closeAllSockets();
    restoreClock(t.app);
  });
  afterAll(async () => t?.close());

  it('limits events per socket and per tenant, with retry_after_seconds', async () => {
    // Buckets and windows read the app's clock, which stands still unless the test moves it: from the
    // start of a one-second window, however long the bursts take.
    const clock = useTestClock(t.app);
    clock.set(Math.floor(clock.now() / 1000) * 1000);
    const w = await createRealtimeTenant(t.app);
    const conv = await w.group(['a', 'b']);
    const a = await connectSocket(t.url, await w.token('a'));
    const results = await Promise.all(Array.from({ length: 8 }, () => ask(a, 'typing:stop', { conversation_id: conv })));
    const limited = results.filter((r) => 'error' in r);
    expect(results.filter((r) => 'ok' in r)).toHaveLength(5);
    expect(limited[0]).toEqual({ error: { code: 'rate_limited', message: 'Too many events on this connection', details: { retry_after_seconds: expect.any(Number) } } });
    // Per tenant: other sockets of the tenant share the budget (6 in the next window, 15 events each
    // within its socket's own burst).
    clock.advance(1000);
    const socks = await Promise.all(['b', 'a', 'b'].map(async (u) => connectSocket(t.url, await w.token(u))));
    const burst = await Promise.all(socks.flatMap((s) => Array.from({ length: 5 }, () => ask(s, 'typing:stop', { conversation_id: conv }))));
    const tenantLimited = burst.filter((r) => 'error' in r && r.error.message === 'Too many socket events for this tenant');
    expect(burst.filter((r) => 'ok' in r)).toHaveLength(6);
    expect(tenantLimited).toHaveLength(9);
    // Another tenant is unaffected.
    const w2 = await createRealtimeTenant(t.app);
    const conv2 = await w2.group(['x', 'y']);
    const x = await connectSocket(t.url, await w2.token('x'));
    expect(await ask(x, 'typing:stop', { conversation_id: conv2 })).toEqual({ ok: true, data: { relayed: false } });
    await waitFor(() => a.connected);
  });

  it('a suspended tenant is told and disconnected', async () => {
    const w = await createRealtimeTenant(t.app);
    const a = await connectSocket(t.url, await w.token('s1'));
    const gone = disconnected(a);
    await t.app.get(TenantService).suspend(w.tenantId, 'unpaid');
    expect(await nextEvent(a, 'tenant:suspended')).toEqual({ error: { code: 'tenant_suspended', message: expect.any(String) } });
    expect(await gone).toBe('io server disconnect');
  });
});

describe('realtime gateway: in-process mode (REDIS_URL=none)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { REDIS_URL: 'none' } });
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => t?.close());

  it('chats, relays typing and presence, syncs and cuts off a suspended tenant on one node without Redis', async () => {
    const w = await createRealtimeTenant(t.app);
    const conv = await w.group(['m1', 'm2']);
    const b = await connectSocket(t.url, await w.token('m2'));
    const a = await connectSocket(t.url, await w.token('m1'));
    expect(await nextEvent(b, 'presence', (p: any) => p.user_id === 'm1')).toEqual({ user_id: 'm1', status: 'online' });
    const sent = await askOk(a, 'message:send', { conversation_id: conv, client_msg_id: 'k1', content: envelope(['m1', 'm2']) });
    expect(await nextEvent(b, 'message:new')).toMatchObject({ id: sent.id, seq: 1 });
    expect(await askOk(a, 'message:send', { conversation_id: conv, client_msg_id: 'k1', content: envelope(['m1', 'm2']) })).toEqual({ ...sent, duplicate: true });
    await askOk(a, 'typing:start', { conversation_id: conv });
    expect(await nextEvent(b, 'typing')).toEqual({ conversation_id: conv, user_id: 'm1', typing: true });
    const synced = await askOk(b, 'sync', { conversations: [{ conversation_id: conv, after_seq: 0 }] });
    expect(synced.conversations[0].messages.map((m: any) => m.id)).toEqual([sent.id]);
    a.close();
    expect(await nextEvent(b, 'presence', (p: any) => p.status === 'offline')).toEqual({ user_id: 'm1', status: 'offline', last_seen: expect.any(String) });
    const gone = disconnected(b);
    await t.app.get(TenantService).suspend(w.tenantId);
    expect(await gone).toBe('io server disconnect');
    expect(receivedOf(b, 'tenant:suspended')).toHaveLength(1);
  });
});
