import { testAppPerSuite } from './support/test-app';
import { messagesWorld, msgs } from './support/messages-world';
import { fakeEnvelope } from './chat-messages-helpers';

/**
 * Changing messages over HTTP against the real app (FerretDB, Redis): edit and delete, thread replies,
 * reactions.
 */
describe('messages over HTTP: edits, threads, reactions', () => {
  const t = testAppPerSuite();
  const world = () => messagesWorld(t);

  describe('edit and delete', () => {
    it('only the sender edits; edited_at is kept; a deleted message cannot be edited', async () => {
      const w = await world();
      const sent = await w.bob.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201);
      const url = `${msgs(w.groupId)}/${sent.body.id}`;
      const changed = fakeEnvelope(w.all);
      const edited = await w.bob.patch(url).send({ content: changed, search_tokens: ['aaaaaaaaaaaaaaaa'] }).expect(200);
      expect(edited.body).toMatchObject({ id: sent.body.id, seq: 1, content: changed, edited_at: expect.any(String) });
      expect((await w.carol.get(url).expect(200)).body.edited_at).toBe(edited.body.edited_at);
      const notMine = await w.alice.patch(url).send({ content: fakeEnvelope(w.all) }).expect(403);
      expect(notMine.body.error.code).toBe('forbidden');
      await w.bob.patch(url).send({ content: fakeEnvelope(['bob']) }).expect(422);
      await w.bob.delete(url).expect(200);
      const gone = await w.bob.patch(url).send({ content: fakeEnvelope(w.all) }).expect(409);
      expect(gone.body.error.code).toBe('conflict');
    });

    it('the sender or a group owner/admin deletes; the tombstone keeps seq and loses content', async () => {
      const w = await world();
      const a = await w.bob.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all), search_tokens: ['bbbbbbbbbbbbbbbb'], mentions: ['carol'] }).expect(201);
      const b = await w.bob.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201);
      await w.bob.put(`${msgs(w.groupId)}/${a.body.id}/reactions/ok`).expect(200);
      const denied = await w.carol.delete(`${msgs(w.groupId)}/${a.body.id}`).expect(403);
      expect(denied.body.error.code).toBe('forbidden');
      const own = await w.bob.delete(`${msgs(w.groupId)}/${a.body.id}`).expect(200);
      expect(own.body).toMatchObject({ id: a.body.id, seq: 1, sender_id: 'bob', content: null, mentions: [], reactions: [], status: 'deleted', deleted_at: expect.any(String) });
      const again = await w.bob.delete(`${msgs(w.groupId)}/${a.body.id}`).expect(200);
      expect(again.body.deleted_at).toBe(own.body.deleted_at);
      // alice owns the group: she may delete bob's message.
      await w.alice.delete(`${msgs(w.groupId)}/${b.body.id}`).expect(200);
      const page = await w.carol.get(msgs(w.groupId)).expect(200);
      expect(page.body.data.map((m: { seq: number; deleted_at: string | null }) => [m.seq, m.deleted_at !== null])).toEqual([
        [2, true],
        [1, true],
      ]);
      const found = await w.bob.post(`${msgs(w.groupId)}/search`).send({ tokens: ['bbbbbbbbbbbbbbbb'] }).expect(200);
      expect(found.body.data).toEqual([]);
      // In a direct conversation nobody but the sender deletes.
      const d = await w.alice.post(msgs(w.directId)).send({ content: fakeEnvelope(['alice', 'bob']) }).expect(201);
      await w.bob.delete(`${msgs(w.directId)}/${d.body.id}`).expect(403);
    });

    it('a group admin who is not the owner deletes another member\'s message; demoted, refused at once', async () => {
      const w = await world();
      const first = await w.carol.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201);
      const second = await w.carol.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201);
      // As a plain member bob may not (and the membership view with his role is now cached).
      await w.bob.delete(`${msgs(w.groupId)}/${first.body.id}`).expect(403);
      await w.alice.put(`/v1/conversations/${w.groupId}/members/bob/role`).send({ role: 'admin' }).expect(200);
      const byAdmin = await w.bob.delete(`${msgs(w.groupId)}/${first.body.id}`).expect(200);
      expect(byAdmin.body).toMatchObject({ id: first.body.id, seq: 1, sender_id: 'carol', content: null, status: 'deleted', deleted_at: expect.any(String) });
      // The tombstone is what everyone reads, the author included.
      expect((await w.carol.get(`${msgs(w.groupId)}/${first.body.id}`).expect(200)).body).toMatchObject({ content: null, deleted_at: byAdmin.body.deleted_at });
      // Back to member: the next delete is refused (the role change invalidated the cached view).
      await w.alice.put(`/v1/conversations/${w.groupId}/members/bob/role`).send({ role: 'member' }).expect(200);
      const refused = await w.bob.delete(`${msgs(w.groupId)}/${second.body.id}`).expect(403);
      expect(refused.body.error.code).toBe('forbidden');
      expect((await w.alice.get(`${msgs(w.groupId)}/${second.body.id}`).expect(200)).body.deleted_at).toBeNull();
    });
  });

  describe('threads', () => {
    it('replies carry thread.parent_id and keep the parent reply_count right', async () => {
      const w = await world();
      const root = await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201);
      const r1 = await w.bob.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all), thread_parent_id: root.body.id }).expect(201);
      const r2 = await w.carol.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all), thread_parent_id: root.body.id }).expect(201);
      await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201); // not in the thread
      expect(r1.body.thread).toEqual({ parent_id: root.body.id, reply_count: 0 });
      const parent = await w.alice.get(`${msgs(w.groupId)}/${root.body.id}`).expect(200);
      expect(parent.body.thread.reply_count).toBe(2);
      const replies = await w.alice.get(`${msgs(w.groupId)}/${root.body.id}/replies?limit=1`).expect(200);
      expect(replies.body.data.map((m: { id: string }) => m.id)).toEqual([r1.body.id]);
      const more = await w.alice.get(`${msgs(w.groupId)}/${root.body.id}/replies?cursor=${replies.body.next_cursor}`).expect(200);
      expect(more.body).toEqual({ data: [expect.objectContaining({ id: r2.body.id })], next_cursor: null });
      // One level of threads only; a parent from another conversation does not exist here.
      const nested = await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all), thread_parent_id: r1.body.id }).expect(400);
      expect(nested.body.error.details[0].field).toBe('thread_parent_id');
      const d = await w.alice.post(msgs(w.directId)).send({ content: fakeEnvelope(['alice', 'bob']) }).expect(201);
      await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all), thread_parent_id: d.body.id }).expect(404);
      // Deleting a reply takes it off the count.
      await w.bob.delete(`${msgs(w.groupId)}/${r1.body.id}`).expect(200);
      expect((await w.alice.get(`${msgs(w.groupId)}/${root.body.id}`).expect(200)).body.thread.reply_count).toBe(1);
    });
  });

  describe('reactions', () => {
    it('one reaction per emoji per user; add and remove are idempotent', async () => {
      const w = await world();
      const m = await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201);
      const url = (emoji: string) => `${msgs(w.groupId)}/${m.body.id}/reactions/${encodeURIComponent(emoji)}`;
      await w.bob.put(url('👍')).expect(200);
      const twice = await w.bob.put(url('👍')).expect(200);
      expect(twice.body.reactions).toEqual([{ user_id: 'bob', emoji: '👍', created_at: expect.any(String) }]);
      await Promise.all([w.carol.put(url('👍')), w.carol.put(url('👍')), w.carol.put(url('🎉'))]);
      const now = await w.alice.get(`${msgs(w.groupId)}/${m.body.id}`).expect(200);
      expect(now.body.reactions.map((r: { user_id: string; emoji: string }) => `${r.user_id}:${r.emoji}`).sort()).toEqual(['bob:👍', 'carol:👍', 'carol:🎉'].sort());
      const removed = await w.carol.delete(url('👍')).expect(200);
      expect(removed.body.reactions.map((r: { user_id: string; emoji: string }) => `${r.user_id}:${r.emoji}`).sort()).toEqual(['bob:👍', 'carol:🎉'].sort());
      await w.carol.delete(url('👍')).expect(200);
      await w.bob.put(`${msgs(w.groupId)}/${m.body.id}/reactions/a%20b`).expect(400);
      await w.bob.put(`${msgs(w.groupId)}/0123456789abcdef01234567/reactions/ok`).expect(404);
    });
  });
});
