import { TenantService } from '@chat/platform';
import { askOk, closeAllSockets, connectSocket, createRealtimeTenant, disconnected, envelope, nextEvent, receivedOf } from './support/socket-client';
import { testAppPerSuite } from './support/test-app';

/** One gateway node without Redis: the in-process adapter carries fan-out, typing, presence and suspension. */
describe('realtime gateway: in-process mode (REDIS_URL=none)', () => {
  const t = testAppPerSuite({ env: { REDIS_URL: 'none' } });
  afterEach(() => closeAllSockets());

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
