import request from 'supertest';
import { ChatEventBus } from '@chat/chat';
import { testAppPerSuite } from './support/test-app';
import { messagesWorld, msgs } from './support/messages-world';
import { fakeEnvelope } from './chat-messages-helpers';

/**
 * What the message routes tell the outside, against the real app (FerretDB, Redis): metrics, the
 * OpenAPI document, the chat events after the writes.
 */
describe('messages over HTTP: metrics, docs, events', () => {
  const t = testAppPerSuite();
  const world = () => messagesWorld(t);

  describe('metrics and docs', () => {
    it('exposes the batch queue depth and the messages-in counter; documents the routes', async () => {
      const w = await world();
      await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201);
      const metrics = await request(t.url).get('/metrics').expect(200);
      expect(metrics.text).toMatch(/^chat_message_batch_queue_depth \d+/m);
      expect(metrics.text).toMatch(/^chat_messages_in_total\{result="stored"\} [1-9]\d*/m);
      expect(metrics.text).toContain('chat_message_batch_size_bucket');
      const doc = await request(t.url).get('/docs/openapi.json').expect(200);
      for (const path of [
        '/v1/conversations/{id}/messages',
        '/v1/conversations/{id}/messages/search',
        '/v1/conversations/{id}/messages/{message_id}',
        '/v1/conversations/{id}/messages/{message_id}/replies',
        '/v1/conversations/{id}/messages/{message_id}/reactions/{emoji}',
        '/v1/conversations/{id}/read',
        '/v1/conversations/{id}/delivered',
      ]) {
        expect(Object.keys(doc.body.paths)).toContain(path);
      }
    });
  });

  describe('events', () => {
    it('emits message.created, reaction and read events after the writes', async () => {
      const w = await world();
      const bus = t.app.get(ChatEventBus);
      const seen: string[] = [];
      const offs = [
        bus.on('message.created', (e) => e.conversationId === w.groupId && seen.push(`created:${e.message.seq}`)),
        bus.on('reaction.added', (e) => e.conversationId === w.groupId && seen.push(`reaction:${e.emoji}`)),
        bus.on('conversation.read', (e) => e.conversationId === w.groupId && seen.push(`read:${e.user_id}:${e.seq}`)),
        bus.on('message.deleted', (e) => e.conversationId === w.groupId && seen.push(`deleted:${e.seq}`)),
      ];
      try {
        const m = await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201);
        await w.bob.put(`${msgs(w.groupId)}/${m.body.id}/reactions/ok`).expect(200);
        await w.bob.post(`/v1/conversations/${w.groupId}/read`).send({ seq: 1 }).expect(200);
        await w.alice.delete(`${msgs(w.groupId)}/${m.body.id}`).expect(200);
      } finally {
        offs.forEach((off) => off());
      }
      expect(seen).toEqual(['created:1', 'reaction:ok', 'read:bob:1', 'deleted:1']);
    });
  });
});
