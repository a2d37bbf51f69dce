import request from 'supertest';
import { CacheService } from '@chat/cache';
import { searchTokens, generateConversationKey } from '../libs/sdk/src/crypto';
import { testAppPerSuite } from './support/test-app';
import { messagesWorld, msgs } from './support/messages-world';
import { fakeEnvelope } from './chat-messages-helpers';

/**
 * Reading messages over HTTP against the real app (FerretDB, Redis): history pages, the cached newest
 * page, blind-index search.
 */
describe('messages over HTTP: history and search', () => {
  const t = testAppPerSuite();
  const world = () => messagesWorld(t);

  describe('history', () => {
    it('pages newest first by cursor, and oldest first after a seq, up to 100, without skip', async () => {
      const w = await world();
      for (let i = 0; i < 7; i++) await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201);
      const p1 = await w.bob.get(`${msgs(w.groupId)}?limit=3`).expect(200);
      expect(p1.body.data.map((m: { seq: number }) => m.seq)).toEqual([7, 6, 5]);
      expect(p1.body.next_cursor).toBe('b5');
      const p2 = await w.bob.get(`${msgs(w.groupId)}?limit=3&cursor=${p1.body.next_cursor}`).expect(200);
      expect(p2.body.data.map((m: { seq: number }) => m.seq)).toEqual([4, 3, 2]);
      const p3 = await w.bob.get(`${msgs(w.groupId)}?limit=3&cursor=${p2.body.next_cursor}`).expect(200);
      expect(p3.body).toEqual({ data: [expect.objectContaining({ seq: 1 })], next_cursor: null });
      const before = await w.bob.get(`${msgs(w.groupId)}?before_seq=3`).expect(200);
      expect(before.body.data.map((m: { seq: number }) => m.seq)).toEqual([2, 1]);
      const after = await w.bob.get(`${msgs(w.groupId)}?after_seq=4&limit=2`).expect(200);
      expect(after.body).toEqual({ data: [expect.objectContaining({ seq: 5 }), expect.objectContaining({ seq: 6 })], next_cursor: 'a6' });
      const rest = await w.bob.get(`${msgs(w.groupId)}?cursor=a6&limit=2`).expect(200);
      expect(rest.body.data.map((m: { seq: number }) => m.seq)).toEqual([7]);
      expect(rest.body.next_cursor).toBeNull();
    });
  });

  describe('history cache (newest page)', () => {
    const seqs = (res: request.Response) => res.body.data.map((m: { seq: number }) => m.seq);

    it('pages across the cached newest page and the database: every seq once, in order', async () => {
      const w = await world();
      for (let i = 0; i < 13; i++) {
        await Promise.all(Array.from({ length: 10 }, () => w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201)));
      }
      const seen: number[] = [];
      let cursor: string | null = '';
      while (cursor !== null) {
        const res: request.Response = await w.bob.get(`${msgs(w.groupId)}?limit=40${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
        seen.push(...seqs(res));
        cursor = res.body.next_cursor;
      }
      expect(seen).toEqual(Array.from({ length: 130 }, (_, i) => 130 - i));
      expect(seqs(await w.bob.get(`${msgs(w.groupId)}?before_seq=35&limit=5`).expect(200))).toEqual([34, 33, 32, 31, 30]);
      expect(seqs(await w.bob.get(`${msgs(w.groupId)}?before_seq=3&limit=5`).expect(200))).toEqual([2, 1]);
    });

    it('a repeated read is a cache hit, and every write shows at once', async () => {
      const w = await world();
      const first = await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201);
      const cache = t.app.get(CacheService);
      await w.bob.get(msgs(w.groupId)).expect(200);
      const hits = cache.stats().hits;
      await w.bob.get(msgs(w.groupId)).expect(200);
      expect(cache.stats().hits).toBeGreaterThan(hits);
      const top = async () => (await w.bob.get(msgs(w.groupId)).expect(200)).body.data[0];

      await w.alice.patch(`${msgs(w.groupId)}/${first.body.id}`).send({ content: fakeEnvelope(w.all), preview: 'ZWRpdGVk' }).expect(200);
      expect(await top()).toMatchObject({ seq: 1, preview: 'ZWRpdGVk', edited_at: expect.any(String) });
      await w.bob.put(`${msgs(w.groupId)}/${first.body.id}/reactions/${encodeURIComponent('👍')}`).expect(200);
      expect((await top()).reactions).toEqual([expect.objectContaining({ user_id: 'bob', emoji: '👍' })]);
      await w.bob.post(`/v1/conversations/${w.groupId}/read`).send({ seq: 1 }).expect(200);
      expect((await top()).read_by).toEqual([expect.objectContaining({ user_id: 'bob' })]);
      const reply = await w.carol.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all), thread_parent_id: first.body.id }).expect(201);
      const page = (await w.bob.get(msgs(w.groupId)).expect(200)).body.data;
      expect(page.map((m: { seq: number }) => m.seq)).toEqual([2, 1]);
      expect(page[1].thread.reply_count).toBe(1);
      await w.carol.delete(`${msgs(w.groupId)}/${reply.body.id}`).expect(200);
      const after = (await w.bob.get(msgs(w.groupId)).expect(200)).body.data;
      expect(after[0]).toMatchObject({ seq: 2, deleted_at: expect.any(String), content: null });
      expect(after[1].thread.reply_count).toBe(0);
    });
  });

  describe('search (blind index)', () => {
    it('matches messages holding every query token, newest first; nothing else', async () => {
      const w = await world();
      const key = generateConversationKey();
      const texts = ['Lunch at noon?', 'Noon works, lunch at the café', 'Café closed on Sunday', 'unrelated'];
      const ids: string[] = [];
      for (const text of texts) {
        const res = await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all), search_tokens: searchTokens(text, key) }).expect(201);
        ids.push(res.body.id);
      }
      const search = (q: string, extra: Record<string, unknown> = {}) =>
        w.bob.post(`${msgs(w.groupId)}/search`).send({ tokens: searchTokens(q, key), ...extra }).expect(200);
      expect((await search('lunch')).body.data.map((m: { id: string }) => m.id)).toEqual([ids[1], ids[0]]);
      expect((await search('LUNCH noon')).body.data.map((m: { id: string }) => m.id)).toEqual([ids[1], ids[0]]);
      expect((await search('cafe')).body.data.map((m: { id: string }) => m.id)).toEqual([ids[2], ids[1]]);
      expect((await search('cafe sunday')).body.data.map((m: { id: string }) => m.id)).toEqual([ids[2]]);
      expect((await search('dinner')).body.data).toEqual([]);
      const p1 = await search('cafe', { limit: 1 });
      expect(p1.body.data.map((m: { id: string }) => m.id)).toEqual([ids[2]]);
      const p2 = await search('cafe', { limit: 1, cursor: p1.body.next_cursor });
      expect(p2.body.data.map((m: { id: string }) => m.id)).toEqual([ids[1]]);
      // Another conversation key gives unrelated tokens.
      expect((await w.bob.post(`${msgs(w.groupId)}/search`).send({ tokens: searchTokens('lunch', generateConversationKey()) }).expect(200)).body.data).toEqual([]);
      for (const bad of [{ tokens: [] }, { tokens: ['x'] }, { tokens: 'abc' }, {}]) {
        await w.bob.post(`${msgs(w.groupId)}/search`).send(bad).expect(400);
      }
    });
  });
});
