import request from 'supertest';
import { CacheService } from '@chat/cache';
import { ChatEventBus, ConversationsService, RelationshipsService, UsersService } from '@chat/chat';
import { asTenantId, TenantContext } from '@chat/tenancy';
import {
  decryptMessage,
  encryptMessage,
  generateDeviceKeys,
  searchTokens,
  generateConversationKey,
  bytesToUtf8,
  toPublicKeyBundle,
} from '../libs/sdk/src/crypto';
import { createTestApp, TestApp } from './support/test-app';
import { asUser, Client, createTenant, TestTenant, userToken } from './support/factories';
import { fakeEnvelope } from './chat-messages-helpers';

/**
 * Messages over HTTP against the real app (FerretDB, Redis). Users and conversations are set up through
 * the chat services (their own suites test those routes); everything about messages goes over HTTP.
 */
describe('messages over HTTP', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  interface World {
    tenant: TestTenant;
    groupId: string;
    directId: string;
    alice: Client;
    bob: Client;
    carol: Client;
    dave: Client; // a user of the tenant in no conversation
    all: string[]; // group members
  }

  const inTenant = <T>(tenant: TestTenant, fn: () => Promise<T>) => TenantContext.run({ tenantId: asTenantId(tenant.tenantId) }, fn);

  /** A tenant with alice (owner), bob and carol in a group, and a direct conversation alice-bob. */
  async function world(): Promise<World> {
    const tenant = await createTenant(t);
    const users = t.app.get(UsersService);
    const conversations = t.app.get(ConversationsService);
    const { groupId, directId } = await inTenant(tenant, async () => {
      for (const id of ['alice', 'bob', 'carol', 'dave']) await users.upsert(id, { profile: { display_name: id } });
      const group = await conversations.create('alice', { type: 'group', name: 'team', member_ids: ['bob', 'carol'] });
      const direct = await conversations.openDirect('alice', 'bob');
      return { groupId: group.id, directId: direct.conversation.id };
    });
    const client = async (id: string) => asUser(t, await userToken(t, tenant, id));
    return {
      tenant,
      groupId,
      directId,
      alice: await client('alice'),
      bob: await client('bob'),
      carol: await client('carol'),
      dave: await client('dave'),
      all: ['alice', 'bob', 'carol'],
    };
  }

  const msgs = (id: string) => `/v1/conversations/${id}/messages`;

  describe('send, retry, read back', () => {
    it('stores a message with its seq (201) and answers a retried client_msg_id with the original (200)', async () => {
      const w = await world();
      const content = fakeEnvelope(w.all);
      const first = await w.alice.post(msgs(w.groupId)).send({ client_msg_id: 'c-1', content, mentions: ['bob'] }).expect(201);
      expect(first.body).toMatchObject({
        id: expect.stringMatching(/^[0-9a-f]{24}$/),
        conversation_id: w.groupId,
        seq: 1,
        sender_id: 'alice',
        client_msg_id: 'c-1',
        content,
        mentions: ['bob'],
        reactions: [],
        thread: { parent_id: null, reply_count: 0 },
        read_by: [],
        status: 'sent',
        gap: false,
        edited_at: null,
        deleted_at: null,
      });
      expect(first.body.search_tokens).toBeUndefined();
      const retry = await w.alice.post(msgs(w.groupId)).send({ client_msg_id: 'c-1', content: fakeEnvelope(w.all) }).expect(200);
      expect(retry.body.id).toBe(first.body.id);
      expect(retry.body.content).toEqual(content);
      // Without client_msg_id the server makes one: two sends, two messages.
      const a = await w.alice.post(msgs(w.groupId)).send({ content }).expect(201);
      const b = await w.alice.post(msgs(w.groupId)).send({ content }).expect(201);
      expect([a.body.seq, b.body.seq]).toEqual([2, 3]);
      expect(a.body.client_msg_id).not.toBe(b.body.client_msg_id);
      const one = await w.bob.get(`${msgs(w.groupId)}/${first.body.id}`).expect(200);
      expect(one.body).toEqual(first.body);
      // A retry targets the same conversation: the same client_msg_id in another conversation is another message.
      const other = await w.alice.post(msgs(w.directId)).send({ client_msg_id: 'c-1', content: fakeEnvelope(['alice', 'bob']) }).expect(201);
      expect(other.body.id).not.toBe(first.body.id);
      expect(other.body.conversation_id).toBe(w.directId);
    });

    it('the conversation shows the last message and unread counts after sends', async () => {
      const w = await world();
      await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all), preview: Buffer.from('enc-preview').toString('base64') }).expect(201);
      const conv = await inTenant(w.tenant, () => t.app.get(ConversationsService).getForMember(w.groupId, 'bob'));
      expect(conv.last_message).toMatchObject({ seq: 1, sender_id: 'alice', content_preview: Buffer.from('enc-preview').toString('base64') });
      expect(conv.unread_count).toBe(1);
    });

    it('accepts a real SDK envelope and hands it back untouched: the recipient decrypts it', async () => {
      const w = await world();
      const aliceDev = generateDeviceKeys({ deviceId: 'alice-phone' });
      const bobDev = generateDeviceKeys({ deviceId: 'bob-laptop' });
      const bundle = (user: string, d: ReturnType<typeof generateDeviceKeys>) => ({ user_id: user, ...toPublicKeyBundle(d) });
      const content = encryptMessage({
        plaintext: 'meet at noon',
        type: 'text',
        conversationId: w.directId,
        senderId: 'alice',
        senderDevice: aliceDev,
        recipients: [bundle('alice', aliceDev), bundle('bob', bobDev)],
        signingKey: aliceDev.signing!.secretKey,
      });
      const res = await w.alice.post(msgs(w.directId)).send({ content }).expect(201);
      const page = await w.bob.get(msgs(w.directId)).expect(200);
      expect(page.body.data[0].id).toBe(res.body.id);
      const plain = decryptMessage({ content: page.body.data[0].content, conversationId: w.directId, senderId: 'alice', myUserId: 'bob', myDevice: bobDev });
      expect(bytesToUtf8(plain)).toBe('meet at noon');
    });
  });

  describe('validation', () => {
    it('rejects malformed envelopes and fields with 400 in the error shape', async () => {
      const w = await world();
      const good = fakeEnvelope(w.all);
      const cases: Array<Record<string, unknown>> = [
        {},
        { content: { ...good, encrypted_data: 'not base64!' } },
        { content: { ...good, type: 'poem' } },
        { content: { ...good, encrypted_key: [] } },
        { content: { ...good, encrypted_key: [{ user_id: 'bob' }] } },
        { content: { ...good, extra: 1 } },
        { content: good, unknown_field: true },
        { content: good, client_msg_id: 'has space' },
        { content: good, client_msg_id: 'gap:1' },
        { content: good, search_tokens: ['short'] },
        { content: good, thread_parent_id: 'nope' },
        { content: good, mentions: 'bob' },
      ];
      for (const body of cases) {
        const res = await w.alice.post(msgs(w.groupId)).send(body);
        expect({ body, status: res.status, code: res.body.error?.code }).toEqual({ body, status: 400, code: 'validation_failed' });
      }
      const mention = await w.alice.post(msgs(w.groupId)).send({ content: good, mentions: ['dave'] }).expect(400);
      expect(mention.body.error.details[0].field).toBe('mentions');
    });

    it('needs a wrapped key for every member (422 missing_recipient_keys)', async () => {
      const w = await world();
      const res = await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(['alice', 'bob']) }).expect(422);
      expect(res.body).toEqual({
        error: { code: 'missing_recipient_keys', message: expect.any(String), details: { missing: [{ user_id: 'carol', device_id: null, key_version: null }] } },
      });
    });

    it('refuses a message above MESSAGE_MAX_BYTES with 413', async () => {
      const w = await world();
      const res = await w.alice.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all, { dataBytes: 70 * 1024 }) }).expect(413);
      expect(res.body.error).toMatchObject({ code: 'payload_too_large', details: { max_bytes: 64 * 1024 } });
    });

    it('validates history queries', async () => {
      const w = await world();
      for (const q of ['limit=101', 'limit=0', 'before_seq=-1', 'cursor=zzz', 'after_seq=abc', 'skip=5']) {
        const res = await w.alice.get(`${msgs(w.groupId)}?${q}`);
        expect({ q, status: res.status, code: res.body.error?.code }).toEqual({ q, status: 400, code: 'validation_failed' });
      }
    });
  });

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

  describe('concurrency', () => {
    it('concurrent senders over HTTP: seqs 1..N, no gaps, no duplicates', async () => {
      const w = await world();
      const senders = [w.alice, w.bob, w.carol];
      const N = 60;
      const res = await Promise.all(Array.from({ length: N }, (_, i) => senders[i % 3]!.post(msgs(w.groupId)).send({ content: fakeEnvelope(w.all) })));
      expect(res.map((r) => r.status)).toEqual(Array(N).fill(201));
      expect(res.map((r) => r.body.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    });

    it('concurrent retries of one client_msg_id over HTTP: one message', async () => {
      const w = await world();
      const body = { client_msg_id: 'flaky-network-1', content: fakeEnvelope(w.all) };
      const res = await Promise.all(Array.from({ length: 8 }, () => w.alice.post(msgs(w.groupId)).send(body)));
      expect(res.filter((r) => r.status === 201)).toHaveLength(1);
      expect(res.filter((r) => r.status === 200)).toHaveLength(7);
      expect(new Set(res.map((r) => r.body.id)).size).toBe(1);
      const page = await w.bob.get(`${msgs(w.groupId)}?after_seq=0`).expect(200);
      expect(page.body.data.filter((m: { gap: boolean }) => !m.gap)).toHaveLength(1);
    });
  });

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
