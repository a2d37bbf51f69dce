import request from 'supertest';
import { ConversationsRepository, PendingConversationWrites } from '@chat/chat';
import { askOk, closeAllSockets, connectSocket, createRealtimeTenant, envelope, nextEvent, receivedOf, waitFor } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';

jest.setTimeout(60_000);

/** Holds the conversation's last_message write (a seam in the writer's flush) until `release`; `started` once it began. */
function holdLastMessageWrite(repo: ConversationsRepository, conversationId: string) {
  const setLastMessages = repo.setLastMessages.bind(repo);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let writeStarted!: () => void;
  const started = new Promise<void>((r) => (writeStarted = r));
  const spy = jest.spyOn(repo, 'setLastMessages').mockImplementation(async (...args: Parameters<ConversationsRepository['setLastMessages']>) => {
    if (args[0].some((w) => w.conversationId === conversationId)) {
      writeStarted();
      await held;
    }
    return setLastMessages(...args);
  });
  return { release, started, spy };
}

/**
 * Issue 16: a send is answered once its message is stored and its events are out; the conversation's
 * last_message (and activity time) is written after the ack. A read of the conversation on the same
 * node still sees the send: it waits for that node's pending write. Real app: FerretDB, Redis.
 */
describe('send path: last_message after the ack', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => t?.close());

  it('the ack and message:new do not wait for the last_message write; a conversation read on the node does', async () => {
    const w = await createRealtimeTenant(t.app);
    const conv = await w.group(['la-sender', 'la-member']);
    const senderToken = await w.token('la-sender');
    const sender = await connectSocket(t.url, senderToken);
    const member = await connectSocket(t.url, await w.token('la-member'));

    // The conversation's last_message write is held until the test lets it go (a seam in the commit step's write).
    const repo = t.app.get(ConversationsRepository);
    const { release, started, spy } = holdLastMessageWrite(repo, conv);
    try {
      // Before issue 16 the ack waited for this write: the send timed out here.
      const sent = await askOk(sender, 'message:send', { conversation_id: conv, client_msg_id: 'la-1', content: envelope(['la-sender', 'la-member']) }, 10_000);
      await started;
      // The sender's own message:new came before its ack (same connection, in order); the member's arrives too.
      expect(receivedOf(sender, 'message:new', (m: any) => m.id === sent.id)).toHaveLength(1);
      expect((await nextEvent(member, 'message:new', (m: any) => m.id === sent.id)).seq).toBe(sent.seq);
      // Still pending in the database.
      expect((await w.as(() => repo.findConversation(conv)))!.last_message).toBeNull();

      // Reads on this node wait for the pending write: asked now, answered after the release with the new last_message.
      const pending = t.app.get(PendingConversationWrites);
      const settled = pending.settled.bind(pending);
      let released = false;
      const waits: boolean[] = [];
      const waitSpy = jest.spyOn(pending, 'settled').mockImplementation((tenantId, ids) => {
        const i = waits.push(false) - 1;
        return settled(tenantId, ids).then(() => void (waits[i] = released));
      });
      const auth = `Bearer ${senderToken}`;
      const one = request(t.url).get(`/v1/conversations/${conv}`).set('Authorization', auth).then((r) => r);
      const list = request(t.url).get('/v1/conversations').set('Authorization', auth).then((r) => r);
      try {
        await waitFor(() => waits.length >= 2, 10_000, 'both reads at the server');
      } finally {
        waitSpy.mockRestore();
      }
      released = true;
      release();
      const [oneRes, listRes] = await Promise.all([one, list]);
      // Neither read went on before the write was let go.
      expect(waits).toEqual([true, true]);
      expect(oneRes.status).toBe(200);
      expect(oneRes.body.last_message).toMatchObject({ seq: sent.seq, message_id: sent.id, sender_id: 'la-sender' });
      expect(listRes.body.data.find((c: any) => c.id === conv)?.last_message).toMatchObject({ seq: sent.seq, message_id: sent.id });
    } finally {
      release();
      spy.mockRestore();
    }
  });

  it("a user's list waits only for their own conversations' pending writes", async () => {
    const w = await createRealtimeTenant(t.app);
    const busy = await w.group(['lb-sender', 'lb-member']);
    const quiet = await w.group(['lb-reader', 'lb-friend']);
    const sender = await connectSocket(t.url, await w.token('lb-sender'));
    const readerToken = await w.token('lb-reader');
    const repo = t.app.get(ConversationsRepository);
    const { release, started, spy } = holdLastMessageWrite(repo, busy);
    try {
      await askOk(sender, 'message:send', { conversation_id: busy, client_msg_id: 'lb-1', content: envelope(['lb-sender', 'lb-member']) }, 10_000);
      await started;
      // The tenant has a pending write, of a conversation the reader is not in: the reader's list does not wait for it.
      const list = await request(t.url).get('/v1/conversations').set('Authorization', `Bearer ${readerToken}`).timeout(10_000);
      expect(list.status).toBe(200);
      expect(list.body.data.map((c: any) => c.id)).toEqual([quiet]);
    } finally {
      release();
      spy.mockRestore();
    }
  });
});

