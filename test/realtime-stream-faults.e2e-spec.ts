/* The message stream stays whole when a node fails in the middle of the write path. Node A is this
 * jest process's app; node B is the all-in-one entry as its own OS process, with test/support/fault-points.js
 * preloaded: the data a test sends makes B lose its database connection after storing a batch, or die
 * (SIGKILL) right after storing or right before storing. One database, one Redis. */
import request from 'supertest';
import { ChatSocket, type MessageView } from '@chat/sdk';
import type { AppProcess } from './support/app-process';
import { startFaultNode } from './support/fault-node';
import { TEST_PLATFORM_ENV } from './support/factories';
import { askOk, closeAllSockets, connectSocket, createRealtimeTenant, envelope, nextEvent, waitFor } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';

jest.setTimeout(180_000);

const GRACE_MS = 1500;

async function startNodeB(dbName: string): Promise<{ proc: AppProcess; url: string }> {
  // Sends that arrive together are one batch (one reservation of seqs).
  const { url, child } = await startFaultNode({ ...TEST_PLATFORM_ENV, MONGODB_DB: dbName, MESSAGE_BATCH_WINDOW_MS: '100' }, []);
  return { proc: child, url };
}

const killed = (p: AppProcess) => new Promise<NodeJS.Signals | null>((resolve) => (p.child.exitCode !== null || p.child.signalCode ? resolve(p.child.signalCode) : p.child.once('exit', (_c, sig) => resolve(sig))));

describe('message stream integrity when a node fails mid-write (real processes)', () => {
  let a: TestApp;
  let b: { proc: AppProcess; url: string } | undefined;
  const sdkSockets: ChatSocket[] = [];

  beforeAll(async () => {
    a = await createTestApp({ env: { MESSAGE_GAP_GRACE_MS: String(GRACE_MS) } });
  });
  afterEach(() => {
    closeAllSockets();
    for (const s of sdkSockets.splice(0)) s.close();
  });
  afterAll(async () => {
    if (b && b.proc.child.exitCode === null && !b.proc.child.signalCode) b.proc.child.kill('SIGKILL');
    await a?.close();
  });

  it('a batch whose post-commit step loses the database connection still reaches the members, and last_message is set by a retry', async () => {
    b = await startNodeB(a.dbName);
    const w = await createRealtimeTenant(a.app);
    const conv = await w.group(['pc-sender', 'pc-member']);
    const member = await connectSocket(a.url, await w.token('pc-member'));
    const sender = await connectSocket(b.url, await w.token('pc-sender'));
    const sent = await askOk(sender, 'message:send', {
      conversation_id: conv,
      client_msg_id: 'pc-1',
      preview: Buffer.from('fault:post-commit').toString('base64'),
      content: envelope(['pc-sender', 'pc-member']),
    });
    expect((await nextEvent(member, 'message:new', (m: any) => m.id === sent.id, 10_000)).seq).toBe(sent.seq);
    const token = await w.token('pc-member');
    await waitFor(
      async () => (await request(a.url).get(`/v1/conversations/${conv}`).set('Authorization', `Bearer ${token}`)).body.last_message?.seq === sent.seq,
      10_000,
      'last_message set by the retry',
    );
    expect(b.proc.stderr() + b.proc.stdout()).toContain('last_message of conversation');
  });

  it('a message stored by a node that died before broadcasting it reaches the members through their gap fetch', async () => {
    const w = await createRealtimeTenant(a.app);
    const conv = await w.group(['ks-sender', 'ks-member']);
    const recipients = ['ks-sender', 'ks-member'];
    const member = new ChatSocket({ url: a.url, token: await w.token('ks-member') });
    sdkSockets.push(member);
    const delivered: MessageView[] = [];
    member.on('message:new', (m) => delivered.push(m));
    await member.connect();
    member.track(conv, 0);
    const senderA = await connectSocket(a.url, await w.token('ks-sender'));
    const first = await askOk(senderA, 'message:send', { conversation_id: conv, client_msg_id: 'ks-0', content: envelope(recipients) });
    await waitFor(() => delivered.length === 1, 10_000, 'first message live');

    // Through B, which stores the message and dies before its post-commit step (no event, no ack).
    const senderB = await connectSocket(b!.url, await w.token('ks-sender'));
    senderB.emit('message:send', { conversation_id: conv, client_msg_id: 'fault:kill-after-store-1', content: envelope(recipients) }, () => undefined);
    expect(await killed(b!.proc)).toBe('SIGKILL');
    // The sender retries on A: the original, stored by B, with no broadcast.
    const retried = await askOk(senderA, 'message:send', { conversation_id: conv, client_msg_id: 'fault:kill-after-store-1', content: envelope(recipients) });
    expect(retried).toMatchObject({ seq: first.seq + 1, duplicate: true });
    const later = await askOk(senderA, 'message:send', { conversation_id: conv, client_msg_id: 'ks-2', content: envelope(recipients) });

    // The SDK sees seq+2 live after seq, fetches the missing one and delivers all in order.
    await waitFor(() => delivered.some((m) => m.id === later.id), 10_000, 'later message delivered');
    expect(delivered.map((m) => m.seq)).toEqual([first.seq, retried.seq, later.seq]);
    expect(delivered[1]!.id).toBe(retried.id);

    // The documented protocol without the SDK: a live seq after a hole, so ask for the range before it.
    const raw = await connectSocket(a.url, await w.token('ks-member'));
    const { conversations } = await askOk(raw, 'sync', { conversations: [{ conversation_id: conv, after_seq: first.seq, before_seq: later.seq }] });
    expect(conversations[0]).toMatchObject({ has_more: false, next_after_seq: retried.seq, holes: [] });
    expect(conversations[0].messages.map((m: any) => m.id)).toEqual([retried.id]);
  });

  it('seqs reserved by a node killed before storing them become gap tombstones: sync answers a contiguous stream and unread_count can reach 0', async () => {
    b = await startNodeB(a.dbName);
    const w = await createRealtimeTenant(a.app);
    const conv = await w.group(['kr-sender', 'kr-member']);
    const recipients = ['kr-sender', 'kr-member'];
    const senderB = await connectSocket(b.url, await w.token('kr-sender'));
    // Sent together: B reserves their seqs, then dies as it is about to insert them.
    for (let i = 0; i < 12; i++) {
      senderB.emit('message:send', { conversation_id: conv, client_msg_id: `fault:kill-before-store-${i}`, content: envelope(recipients) }, () => undefined);
    }
    expect(await killed(b.proc)).toBe('SIGKILL');

    const member = await connectSocket(a.url, await w.token('kr-member'));
    const token = await w.token('kr-member');
    const conversation = async () => (await request(a.url).get(`/v1/conversations/${conv}`).set('Authorization', `Bearer ${token}`)).body;
    // The reserved seqs are the end of the stream and count as unread: nothing after them dates them.
    const reserved = (await conversation()).unread_count;
    expect(reserved).toBeGreaterThan(0);
    const syncFrom = async (after: number) => (await askOk(member, 'sync', { conversations: [{ conversation_id: conv, after_seq: after }] })).conversations[0];
    // Within the grace period they are pending holes (the writer might still be alive)...
    const early = await syncFrom(0);
    if (early.holes?.length) {
      expect(early).toMatchObject({ messages: [], next_after_seq: 0, has_more: true });
      expect(early.holes[0]).toEqual({ seq: 1, state: 'pending' });
      expect(early.retry_after_ms).toBeGreaterThan(0);
    }
    // ...after it, the first reader fills them with gap tombstones: every seq answered, in order.
    await waitFor(async () => (await syncFrom(0)).next_after_seq === reserved, 15_000, 'reserved seqs answered');
    const entry = await syncFrom(0);
    expect(entry.messages.map((m: any) => m.seq)).toEqual(Array.from({ length: reserved }, (_, i) => i + 1));
    expect(entry.messages.every((m: any) => m.gap && m.content === null)).toBe(true);
    expect(entry).toMatchObject({ holes: [], has_more: false });
    // So a client that read everything it was given reads the whole stream.
    await askOk(member, 'conversation:read', { conversation_id: conv, seq: entry.next_after_seq });
    expect((await conversation()).unread_count).toBe(0);

    // The stream goes on contiguously.
    const senderA = await connectSocket(a.url, await w.token('kr-sender'));
    const after = await askOk(senderA, 'message:send', { conversation_id: conv, client_msg_id: 'kr-after', content: envelope(recipients) });
    expect(after.seq).toBe(reserved + 1);
    expect((await syncFrom(reserved)).messages.map((m: any) => m.id)).toEqual([after.id]);
  });
});
