import { ConversationsService } from '@chat/chat';
import { testAppPerSuite } from './support/test-app';
import { Client } from './support/factories';
import { inTenant, messagesWorld, msgs } from './support/messages-world';
import { fakeEnvelope } from './chat-messages-helpers';

/**
 * Read and delivery receipts over HTTP against the real app (FerretDB, Redis): positions, read_by,
 * status.
 */
describe('messages over HTTP: receipts', () => {
  const t = testAppPerSuite();
  const world = () => messagesWorld(t);

  describe('receipts', () => {
    it('read and delivered positions only move forward; read_by and status follow', async () => {
      const w = await world();
      for (let i = 0; i < 3; i++) await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201);
      const own = await w.bob.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201); // seq 4 by bob
      const delivered = await w.carol.post(`/v1/conversations/${w.groupId}/delivered`).send({ seq: 1 }).expect(200);
      expect(delivered.body).toEqual({ conversation_id: w.groupId, user_id: 'carol', last_delivered_seq: 1 });
      const read = await w.bob.post(`/v1/conversations/${w.groupId}/read`).send({ seq: 2 }).expect(200);
      expect(read.body).toEqual({ conversation_id: w.groupId, user_id: 'bob', last_read_seq: 2, last_delivered_seq: 2 });
      const back = await w.bob.post(`/v1/conversations/${w.groupId}/read`).send({ seq: 1 }).expect(200);
      expect(back.body.last_read_seq).toBe(2);
      await w.carol.post(`/v1/conversations/${w.groupId}/read`).send({ seq: 4 }).expect(200);
      const capped = await w.bob.post(`/v1/conversations/${w.groupId}/read`).send({ seq: 999 }).expect(200);
      expect(capped.body.last_read_seq).toBe(4);
      const page = await w.alice.get(`${msgs(w.groupId)}?after_seq=0`).expect(200);
      const bySeq = Object.fromEntries(page.body.data.map((m: { seq: number }) => [m.seq, m]));
      const readers = (seq: number) => bySeq[seq].read_by.map((r: { user_id: string }) => r.user_id);
      expect(bySeq[1].status).toBe('read');
      expect(bySeq[1].read_by).toEqual([
        { user_id: 'bob', read_at: expect.any(String) },
        { user_id: 'carol', read_at: expect.any(String) },
      ]);
      expect(readers(2)).toEqual(['bob', 'carol']); // bob's second read did not add him twice
      expect(readers(3)).toEqual(['carol', 'bob']);
      expect(readers(4)).toEqual(['carol']); // bob's own message
      expect(bySeq[4].id).toBe(own.body.id);
      const conv = await inTenant(w.tenant, () => t.app.get(ConversationsService).getForMember(w.groupId, 'bob'));
      expect(conv.unread_count).toBe(0);
      const alice = await inTenant(w.tenant, () => t.app.get(ConversationsService).getForMember(w.groupId, 'alice'));
      expect(alice.unread_count).toBe(4);
      await w.bob.post(`/v1/conversations/${w.groupId}/read`).send({ seq: -1 }).expect(400);
      await w.bob.post(`/v1/conversations/${w.groupId}/read`).send({}).expect(400);
    });

    it('status goes sent -> delivered as recipients report delivery; the delivered position never moves back', async () => {
      const w = await world();
      for (let i = 0; i < 3; i++) await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201);
      await w.bob.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201); // seq 4 by bob
      const statuses = async () => {
        const page = await w.alice.get(`${msgs(w.groupId)}?after_seq=0`).expect(200);
        return page.body.data.map((m: { seq: number; status: string }) => `${m.seq}:${m.status}`);
      };
      const delivered = (c: Client, seq: number) => c.post(`/v1/conversations/${w.groupId}/delivered`).send({ seq }).expect(200);
      expect(await statuses()).toEqual(['1:sent', '2:sent', '3:sent', '4:sent']);

      expect((await delivered(w.carol, 2)).body).toEqual({ conversation_id: w.groupId, user_id: 'carol', last_delivered_seq: 2 });
      expect(await statuses()).toEqual(['1:delivered', '2:delivered', '3:sent', '4:sent']);
      // An older position (a late or reordered receipt) changes nothing.
      expect((await delivered(w.carol, 1)).body.last_delivered_seq).toBe(2);
      expect((await delivered(w.carol, 0)).body.last_delivered_seq).toBe(2);
      expect(await statuses()).toEqual(['1:delivered', '2:delivered', '3:sent', '4:sent']);
      // Read beats delivered: a later delivery receipt does not take seq 1 back from read.
      await w.carol.post(`/v1/conversations/${w.groupId}/read`).send({ seq: 1 }).expect(200);
      expect((await delivered(w.bob, 4)).body.last_delivered_seq).toBe(4);
      // bob's own message is not delivered by bob's receipt.
      expect(await statuses()).toEqual(['1:read', '2:delivered', '3:delivered', '4:sent']);
      // Capped at the conversation's last seq.
      expect((await delivered(w.carol, 999)).body.last_delivered_seq).toBe(4);
      expect(await statuses()).toEqual(['1:read', '2:delivered', '3:delivered', '4:delivered']);
      // Reading moves the delivered position along with it; it never goes back afterwards.
      const read = await w.carol.post(`/v1/conversations/${w.groupId}/read`).send({ seq: 4 }).expect(200);
      expect(read.body).toMatchObject({ last_read_seq: 4, last_delivered_seq: 4 });
      expect((await delivered(w.carol, 3)).body.last_delivered_seq).toBe(4);
      // Bad input and non-members.
      await w.carol.post(`/v1/conversations/${w.groupId}/delivered`).send({ seq: -1 }).expect(400);
      await w.carol.post(`/v1/conversations/${w.groupId}/delivered`).send({ seq: 'x' }).expect(400);
      expect((await w.dave.post(`/v1/conversations/${w.groupId}/delivered`).send({ seq: 1 }).expect(404)).body.error.code).toBe('not_found');
    });
  });
});
