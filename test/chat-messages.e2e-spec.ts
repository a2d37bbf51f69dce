import { ConversationsService } from '@chat/chat';
import {
  decryptMessage,
  encryptMessage,
  generateDeviceKeys,
  bytesToUtf8,
  toPublicKeyBundle,
} from '../libs/sdk/src/crypto';
import { testAppPerSuite } from './support/test-app';
import { inTenant, messagesWorld, msgs } from './support/messages-world';
import { fakeEnvelope } from './chat-messages-helpers';

/**
 * Sending messages over HTTP against the real app (FerretDB, Redis): store and retry, the envelope's
 * validation, concurrent senders. Set-up in test/support/messages-world.ts; the other message suites
 * are test/chat-messages-*.e2e-spec.ts.
 */
describe('messages over HTTP: send', () => {
  const t = testAppPerSuite();
  const world = () => messagesWorld(t);

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
});
