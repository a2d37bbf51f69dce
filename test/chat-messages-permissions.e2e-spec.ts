import request from 'supertest';
import { ConversationsService, RelationshipsService } from '@chat/chat';
import { testAppPerSuite } from './support/test-app';
import { Client } from './support/factories';
import { inTenant, messagesWorld, msgs } from './support/messages-world';
import { fakeEnvelope } from './chat-messages-helpers';

/**
 * Who may use the message routes, against the real app (FerretDB, Redis): non-members, other tenants,
 * blocked users and removed members.
 */
describe('messages over HTTP: permissions', () => {
  const t = testAppPerSuite();
  const world = () => messagesWorld(t);

  describe('permissions', () => {
    it('non-members, other tenants and missing ids get the same 404; no token gets 401', async () => {
      const w = await world();
      const other = await world();
      const sent = await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201);
      const m = `${msgs(w.groupId)}/${sent.body.id}`;
      const probes: Array<[Client, string]> = [
        [w.dave, w.groupId], // same tenant, not a member
        [w.carol, w.directId], // member of the group, not of the direct conversation
        [other.alice, w.groupId], // same external id, another tenant
        [w.alice, '0123456789abcdef01234567'], // no such conversation
        [w.alice, 'not-an-id'],
      ];
      for (const [who, conv] of probes) {
        const calls = [
          who.post(msgs(conv)).send({ content: fakeEnvelope(w.all) }),
          who.get(msgs(conv)),
          who.get(`${msgs(conv)}/${sent.body.id}`),
          who.get(`${msgs(conv)}/${sent.body.id}/replies`),
          who.patch(`${msgs(conv)}/${sent.body.id}`).send({ content: fakeEnvelope(w.all) }),
          who.delete(`${msgs(conv)}/${sent.body.id}`),
          who.put(`${msgs(conv)}/${sent.body.id}/reactions/%F0%9F%91%8D`),
          who.post(`${msgs(conv)}/search`).send({ tokens: ['0123456789abcdef0123456789abcdef'] }),
          who.post(`/v1/conversations/${conv}/read`).send({ seq: 1 }),
          who.post(`/v1/conversations/${conv}/delivered`).send({ seq: 1 }),
        ];
        const responses = await Promise.all(calls);
        for (const [i, res] of responses.entries()) {
          expect({ conv, call: i, status: res.status, body: res.body }).toEqual({
            conv,
            call: i,
            status: 404,
            body: { error: { code: 'not_found', message: 'Conversation not found' } },
          });
        }
      }
      // A message id of another conversation is not found in this one.
      const elsewhere = await w.alice.post(msgs(w.directId)).send({ content: fakeEnvelope(['alice', 'bob']) }).expect(201);
      await w.bob.get(`${msgs(w.groupId)}/${elsewhere.body.id}`).expect(404);
      await w.bob.get(`${msgs(w.groupId)}/zzz`).expect(404);
      expect(m).toContain(w.groupId);
      await request(t.url).get(m).expect(401);
      await request(t.url).get(m).set('Authorization', 'Bearer nonsense').expect(401);
      // An API key is not an end user.
      await request(t.url).get(m).set('X-Api-Key', w.tenant.apiKey).expect(401);
    });

    it('a user blocked by the other participant cannot send in their direct conversation (403)', async () => {
      const w = await world();
      await w.alice.post(msgs(w.directId)).send({ content: fakeEnvelope(['alice', 'bob']) }).expect(201);
      await inTenant(w.tenant, () => t.app.get(RelationshipsService).set('bob', 'alice', 'blocked'));
      const res = await w.alice.post(msgs(w.directId)).send({ content: fakeEnvelope(['alice', 'bob']) }).expect(403);
      expect(res.body.error.code).toBe('forbidden');
      // The blocker may still write; the group is unaffected.
      await w.bob.post(msgs(w.directId)).send({ content: fakeEnvelope(['alice', 'bob']) }).expect(201);
      await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201);
    });

    it('a removed member is refused at once (membership cache invalidated)', async () => {
      const w = await world();
      await w.carol.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) }).expect(201);
      await w.carol.get(msgs(w.groupId)).expect(200); // the membership view is cached now
      await inTenant(w.tenant, () => t.app.get(ConversationsService).removeMember(w.groupId, { kind: 'user', userId: 'alice' }, 'carol'));
      await w.carol.post(msgs(w.groupId)).send({ content: fakeEnvelope(['alice', 'bob']) }).expect(404);
      await w.carol.get(msgs(w.groupId)).expect(404);
      // And the envelope rules follow the new membership: carol needs no key any more.
      await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(['alice', 'bob']) }).expect(201);
    });
  });
});
