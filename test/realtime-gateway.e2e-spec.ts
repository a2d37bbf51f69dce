import request from 'supertest';
import { ConversationsService, MessagesService } from '@chat/chat';
import {
  ask,
  askOk,
  closeAllSockets,
  connectSocket,
  createRealtimeTenant,
  drained,
  envelope,
  nextEvent,
  receivedOf,
  sendViaService,
} from './support/socket-client';
import { testAppPerSuite } from './support/test-app';

/**
 * One gateway node against the real services: events and acks, fan-out, membership, typing and
 * presence. Handshake, bad input and rate limits: realtime-gateway-admission.e2e-spec.ts; without
 * Redis: realtime-gateway-in-process.e2e-spec.ts.
 */
describe('realtime gateway (one node)', () => {
  const t = testAppPerSuite({ env: { SOCKET_EVENTS_PER_SECOND: '200', SOCKET_EVENTS_BURST: '400', TYPING_THROTTLE_MS: '300' } });
  afterEach(() => closeAllSockets());

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
});
