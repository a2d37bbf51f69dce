import { JwtService } from '@nestjs/jwt';
import { TenantService } from '@chat/platform';
import {
  ask,
  askOk,
  closeAllSockets,
  connectError,
  connectSocket,
  createRealtimeTenant,
  disconnected,
  envelope,
  nextEvent,
  waitFor,
} from './support/socket-client';
import { testAppPerSuite } from './support/test-app';
import { restoreClock, useTestClock } from './support/test-clock';

/** What a gateway node lets in: the handshake's token and tenant checks, malformed and oversized payloads, rate limits. */
describe('realtime gateway (one node): admission', () => {
  const t = testAppPerSuite({ env: { SOCKET_EVENTS_PER_SECOND: '200', SOCKET_EVENTS_BURST: '400', TYPING_THROTTLE_MS: '300' } });
  afterEach(() => closeAllSockets());

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
  const t = testAppPerSuite({ env: { SOCKET_EVENTS_PER_SECOND: '5', SOCKET_EVENTS_BURST: '5', SOCKET_TENANT_EVENTS_PER_SECOND: '6' } });
  afterEach(() => {
    closeAllSockets();
    restoreClock(t.app);
  });

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
