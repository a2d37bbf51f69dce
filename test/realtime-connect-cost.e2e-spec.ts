import { CacheService } from '@chat/cache';
import { ConversationsRepository, ConversationsService, LastSeenBuffer, UsersRepository, UsersService } from '@chat/chat';
import { TenantContext, TenantId } from '@chat/tenancy';
import { api, createTenant, userToken } from './support/factories';
import { askOk, closeAllSockets, connectSocket, disconnected, drained, envelope, nextEvent, receivedOf, TestSocket, waitFor } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';

/**
 * What a (re)connect costs the database: the room list comes from a cache that every membership change
 * invalidates, and last_seen is buffered and written in batches. Driven over HTTP and socket.io.
 */
describe('realtime connect cost', () => {
  let t: TestApp;
  beforeAll(async () => {
    // A flush interval far beyond the test: only an explicit flush or the shutdown writes last_seen.
    t = await createTestApp({ env: { LAST_SEEN_FLUSH_MS: '60000' } });
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => t?.close());

  const ready = async (url: string, token: string): Promise<{ socket: TestSocket; conversations: number }> => {
    const socket = await connectSocket(url, token);
    const r = await nextEvent<{ conversations: number }>(socket, 'session:ready');
    return { socket, conversations: r.conversations };
  };

  it('joins rooms from the cache on reconnect, and every membership change is seen by the next connect', async () => {
    const tn = await createTenant(t);
    const a = api(t, tn);
    for (const u of ['ra', 'rb', 'rc']) await a.put(`/v1/users/${u}`).send({ profile: { display_name: u } }).expect(201);
    const [ta, tb] = [await userToken(t, tn, 'ra'), await userToken(t, tn, 'rb')];
    const g1 = (await a.post('/v1/users/rb/conversations').send({ type: 'group', member_ids: ['ra'], name: 'g1' }).expect(201)).body.id as string;
    const idsForUser = jest.spyOn(t.app.get(ConversationsRepository), 'idsForUsers');
    try {
      const first = await ready(t.url, ta);
      expect(first.conversations).toBe(1);
      first.socket.disconnect();
      const calls = idsForUser.mock.calls.length;
      expect(calls).toBeGreaterThan(0);
      const again = await ready(t.url, ta);
      expect(again.conversations).toBe(1);
      expect(idsForUser.mock.calls.length).toBe(calls); // served by the cache
      again.socket.disconnect();

      // Added to a new group while offline: the next connect joins it and receives its messages.
      const g2 = (await a.post('/v1/users/rc/conversations').send({ type: 'group', member_ids: ['ra', 'rb'], name: 'g2' }).expect(201)).body.id as string;
      const afterAdd = await ready(t.url, ta);
      expect(afterAdd.conversations).toBe(2);
      const b = await ready(t.url, tb);
      await askOk(b.socket, 'message:send', { conversation_id: g2, content: envelope(['ra', 'rb', 'rc']), client_msg_id: 'm-g2' });
      expect((await nextEvent(afterAdd.socket, 'message:new', (m: any) => m.client_msg_id === 'm-g2')).conversation_id).toBe(g2);

      // Removed from g1 while connected: stops receiving at once, and the next connect does not join it.
      await a.delete(`/v1/conversations/${g1}/members/ra`).expect(204);
      await nextEvent(afterAdd.socket, 'member:removed', (p: any) => p.conversation_id === g1);
      await askOk(b.socket, 'message:send', { conversation_id: g1, content: envelope(['rb']), client_msg_id: 'm-g1' });
      await nextEvent(b.socket, 'message:new', (m: any) => m.client_msg_id === 'm-g1');
      afterAdd.socket.disconnect();
      const afterRemove = await ready(t.url, ta);
      expect(afterRemove.conversations).toBe(1);
      await askOk(b.socket, 'message:send', { conversation_id: g1, content: envelope(['rb']), client_msg_id: 'm-g1b' });
      await nextEvent(b.socket, 'message:new', (m: any) => m.client_msg_id === 'm-g1b');
      expect(receivedOf(afterRemove.socket, 'message:new', (m: any) => m.conversation_id === g1)).toEqual([]);
      expect(receivedOf(afterAdd.socket, 'message:new', (m: any) => m.conversation_id === g1)).toEqual([]);

      // A direct conversation opened while offline is joined at the next connect too.
      afterRemove.socket.disconnect();
      await a.post('/v1/users/rc/conversations/direct').send({ user_id: 'ra' }).expect(201);
      const withDirect = await ready(t.url, ta);
      expect(withDirect.conversations).toBe(2);
    } finally {
      idsForUser.mockRestore();
    }
  });

  it('a burst of first connects reads users and room lists in a few batched queries, each socket its own rooms', async () => {
    const tn = await createTenant(t);
    const a = api(t, tn);
    const ids = Array.from({ length: 24 }, (_, i) => `burst${i}`);
    await a.post('/v1/users/batch').send({ users: ids.map((id) => ({ external_id: id, profile: { display_name: id } })) }).expect((r) => expect(r.status).toBeLessThan(300));
    // Pairs share a group; every user also has a group of their own with burst0 (except burst0 itself).
    const groupOf = new Map<string, string[]>();
    for (let i = 0; i < ids.length; i += 2) {
      const id = (await a.post(`/v1/users/${ids[i]}/conversations`).send({ type: 'group', member_ids: [ids[i + 1]], name: `pair${i}` }).expect(201)).body.id as string;
      for (const u of [ids[i], ids[i + 1]]) groupOf.set(u, [...(groupOf.get(u) ?? []), id]);
    }
    const tokens = await Promise.all(ids.map((id) => userToken(t, tn, id)));
    const byUsers = jest.spyOn(t.app.get(UsersRepository), 'findByExternalIds');
    const byConvs = jest.spyOn(t.app.get(ConversationsRepository), 'idsForUsers');
    try {
      // Cold caches, all at once: one query each for every user's profile and room list.
      const tenantId = tn.tenantId as TenantId;
      await TenantContext.run({ tenantId }, () => t.app.get(CacheService).del(...ids.map((id) => UsersService.cacheKey(id))));
      const [views, lists] = await TenantContext.run({ tenantId }, () =>
        Promise.all([
          Promise.all(ids.map((id) => t.app.get(UsersService).find(id))),
          Promise.all(ids.map((id) => t.app.get(ConversationsService).memberConversationIds(id))),
        ]),
      );
      expect(views.map((v) => v?.external_id)).toEqual(ids);
      expect(lists).toEqual(ids.map((id) => groupOf.get(id)));
      // Misses that arrive while a batch is in flight go out in the next one; how the Redis replies
      // spread over ticks is up to the machine, so "a few" queries, each key asked for once.
      for (const spy of [byUsers, byConvs]) {
        expect(spy.mock.calls.length).toBeGreaterThanOrEqual(1);
        expect(spy.mock.calls.length).toBeLessThanOrEqual(4);
        expect(spy.mock.calls.flatMap((c) => c[0] as string[]).sort()).toEqual([...ids].sort());
      }
      // The sockets (served from those caches now) join exactly their own rooms.
      const sockets = await Promise.all(tokens.map((tok) => ready(t.url, tok)));
      sockets.forEach((s) => expect(s.conversations).toBe(1));
      // Each socket got its own pair's messages and nobody else's.
      await askOk(sockets[0].socket, 'message:send', { conversation_id: groupOf.get(ids[0])![0], content: envelope([ids[0], ids[1]]), client_msg_id: 'burst-m' });
      await nextEvent(sockets[1].socket, 'message:new', (m: any) => m.client_msg_id === 'burst-m');
      await Promise.all(sockets.slice(2).map((s) => drained(s.socket)));
      for (const s of sockets.slice(2)) expect(receivedOf(s.socket, 'message:new', (m: any) => m.client_msg_id === 'burst-m')).toEqual([]);
    } finally {
      byUsers.mockRestore();
      byConvs.mockRestore();
    }
  });

  it('buffers last_seen: API reads see it at once, the database after a flush, and shutdown writes what is pending', async () => {
    const tn = await createTenant(t);
    const a = api(t, tn);
    await a.put('/v1/users/ls1').send({ profile: { display_name: 'ls1' } }).expect(201);
    await a.put('/v1/users/ls2').send({ profile: { display_name: 'ls2' } }).expect(201);
    await a.post('/v1/users/ls1/conversations').send({ type: 'group', member_ids: ['ls2'], name: 'p' }).expect(201);
    const watcher = await ready(t.url, await userToken(t, tn, 'ls2'));
    const stored = (id: string) => TenantContext.run({ tenantId: tn.tenantId as TenantId }, () => t.app.get(UsersRepository).findByExternalId(id));

    const s = await ready(t.url, await userToken(t, tn, 'ls1'));
    const gone = disconnected(s.socket);
    s.socket.disconnect();
    await gone;
    const off = await nextEvent(watcher.socket, 'presence', (p: any) => p.user_id === 'ls1' && p.status === 'offline');
    // Read-through: the API answers with the pending time while the document still has none.
    await waitFor(async () => (await a.get('/v1/users/ls1').expect(200)).body.last_seen === off.last_seen, 5000, 'last_seen through the API');
    expect((await stored('ls1'))?.last_seen ?? null).toBeNull();

    await t.app.get(LastSeenBuffer).flush();
    expect((await stored('ls1'))?.last_seen?.toISOString()).toBe(off.last_seen);
    expect((await a.get('/v1/users/ls1').expect(200)).body.last_seen).toBe(off.last_seen);

    // Pending at shutdown: written by the closing node, read back by another one on the same database.
    const s2 = await ready(t.url, await userToken(t, tn, 'ls2'));
    watcher.socket.disconnect();
    s2.socket.disconnect();
    await waitFor(() => t.app.get(LastSeenBuffer).pending(tn.tenantId as TenantId, 'ls2') !== undefined, 5000, 'ls2 pending');
    const dbName = t.dbName;
    await t.close();
    t = await createTestApp({ dbName, env: { LAST_SEEN_FLUSH_MS: '60000' } });
    expect((await stored('ls2'))?.last_seen).toBeInstanceOf(Date);
  });
});
