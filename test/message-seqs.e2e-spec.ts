/* Seqs come from a counter per conversation (Redis, or in process without it), seeded from the database,
 * with the unique (conversation, seq) index as the safety net (docs/life-of-a-message.md, step 4).
 * Everything goes through sockets against the real app; the counter and the conversation document are
 * changed from outside, as a lost Redis key or a lagging durable mark would leave them. */
import { getConnectionToken } from '@nestjs/mongoose';
import { Connection, mongo } from 'mongoose';
import { RedisService } from '@chat/redis';
import { askOk, closeAllSockets, connectSocket, createRealtimeTenant, envelope, RealtimeTenant, TestSocket, waitFor } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';

jest.setTimeout(120_000);

const GRACE_MS = 1500;

interface Sent {
  id: string;
  seq: number;
  client_msg_id: string;
}

async function storedSeqs(t: TestApp, conv: string): Promise<Array<{ seq: number; gap: boolean; client_msg_id?: string }>> {
  const conn = t.app.get<Connection>(getConnectionToken());
  const docs = await conn.db!.collection('messages').find({ conversation_id: conv }, { projection: { seq: 1, gap: 1, client_msg_id: 1 } }).toArray();
  return docs.map((d) => ({ seq: d.seq as number, gap: Boolean(d.gap), client_msg_id: d.client_msg_id as string | undefined })).sort((x, y) => x.seq - y.seq);
}

/** Sets the conversation document's last_seq (the durable mark) as if commits had not reached it yet. */
async function setDocLastSeq(t: TestApp, conv: string, seq: number): Promise<void> {
  const conn = t.app.get<Connection>(getConnectionToken());
  await conn.db!.collection('conversations').updateOne({ _id: new mongo.ObjectId(conv) }, { $set: { last_seq: seq } });
}

/** The conversation's seq counter: set to `seq`, or dropped (null), as Redis losing or re-seeding it would. */
async function setCounter(t: TestApp, w: RealtimeTenant, conv: string, seq: number | null, at = Date.now()): Promise<void> {
  const redis = t.app.get(RedisService);
  const key = redis.key('seq', w.tenantId, conv);
  if (seq === null) await redis.client!.del(key);
  else await redis.client!.hset(key, 'seq', seq, 'at', at);
}

/** Every message of the stream as a member's socket sync reads it, from seq 0 until it is whole. */
async function syncAll(socket: TestSocket, conv: string): Promise<any[]> {
  const out: any[] = [];
  let after = 0;
  for (;;) {
    const { conversations } = await askOk(socket, 'sync', { conversations: [{ conversation_id: conv, after_seq: after }] });
    const entry = conversations[0];
    out.push(...entry.messages);
    if (entry.next_after_seq === after && !entry.has_more) return out;
    if (entry.next_after_seq === after) throw new Error(`stream not whole after seq ${after}: ${JSON.stringify(entry.holes)}`);
    after = entry.next_after_seq;
  }
}

describe('message seqs from the counter (real app, Redis)', () => {
  let t: TestApp;
  /** A second node on the same database and Redis: one node never writes a conversation in two batches at once, two do. */
  let t2: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { MESSAGE_GAP_GRACE_MS: String(GRACE_MS) } });
    t2 = await createTestApp({ env: { MESSAGE_GAP_GRACE_MS: String(GRACE_MS) }, dbName: t.dbName });
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => {
    await t2?.close();
    await t?.close();
  });

  const send = (s: TestSocket, conv: string, id: string, members: string[]) => askOk<Sent>(s, 'message:send', { conversation_id: conv, client_msg_id: id, content: envelope(members) }, 30_000);

  it('a seq that collides with a stored message is retried with a fresh one: every send acked, no 503, one message per seq', async () => {
    const w = await createRealtimeTenant(t.app);
    const members = ['c1', 'c2'];
    const conv = await w.group(members);
    const s = await connectSocket(t.url, await w.token('c1'));
    for (let i = 1; i <= 3; i++) await send(s, conv, `before-${i}`, members);
    // Both the counter and the document behind the stored messages (seqs 2 and 3 will be handed out again).
    await setDocLastSeq(t, conv, 1);
    await setCounter(t, w, conv, 1);

    const later = await Promise.all([1, 2, 3].map((i) => send(s, conv, `after-${i}`, members)));
    expect(later.every((m) => m.seq > 3)).toBe(true);
    const stored = await storedSeqs(t, conv);
    expect(stored.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(stored.filter((m) => m.gap)).toEqual([]);
    expect(new Set(later.map((m) => m.seq)).size).toBe(3);

    const member = await connectSocket(t.url, await w.token('c2'));
    const read = await syncAll(member, conv);
    expect(read.map((m) => m.client_msg_id).sort()).toEqual(['after-1', 'after-2', 'after-3', 'before-1', 'before-2', 'before-3']);
  });

  it('one batch over several conversations (one reservation call for all) gives each its own consecutive seqs: a counter ahead, one lost, one as stored', async () => {
    const w = await createRealtimeTenant(t.app);
    const members = ['k1', 'k2'];
    const convs = [await w.group(members), await w.group(members), await w.group(members)];
    const s = await connectSocket(t.url, await w.token('k1'));
    for (const conv of convs) for (let i = 1; i <= 2; i++) await send(s, conv, `${conv}-before-${i}`, members);
    await setCounter(t, w, convs[0]!, 10);
    await setCounter(t, w, convs[1]!, null);

    // Sent together: they are queued in the same batch window and reserved in one tick.
    const later = await Promise.all(convs.flatMap((conv) => [1, 2, 3].map((i) => send(s, conv, `${conv}-after-${i}`, members).then((m) => ({ conv, seq: m.seq })))));
    const seqsOf = (conv: string) => later.filter((m) => m.conv === conv).map((m) => m.seq).sort((x, y) => x - y);
    expect(seqsOf(convs[0]!)).toEqual([11, 12, 13]);
    expect(seqsOf(convs[1]!)).toEqual([3, 4, 5]);
    expect(seqsOf(convs[2]!)).toEqual([3, 4, 5]);
    for (const conv of convs) expect((await storedSeqs(t, conv)).filter((m) => !m.gap).map((m) => m.seq)).toEqual([1, 2, ...seqsOf(conv)]);
  });

  it('the counter lost between sends is seeded above every stored seq, even when last_seq lags', async () => {
    const w = await createRealtimeTenant(t.app);
    const members = ['l1', 'l2'];
    const conv = await w.group(members);
    const s = await connectSocket(t.url, await w.token('l1'));
    for (let i = 1; i <= 4; i++) await send(s, conv, `m-${i}`, members);
    await setCounter(t, w, conv, null);
    await setDocLastSeq(t, conv, 0);

    const next = await send(s, conv, 'm-5', members);
    expect(next.seq).toBe(5);
    expect((await storedSeqs(t, conv)).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    const member = await connectSocket(t.url, await w.token('l2'));
    expect((await syncAll(member, conv)).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    // The commit moved the durable mark forward again (written after the ack, with last_message).
    const conn = t.app.get<Connection>(getConnectionToken());
    await waitFor(async () => (await conn.db!.collection('conversations').findOne({ _id: new mongo.ObjectId(conv) }))?.last_seq === 5, 30_000, 'last_seq written').catch(() => undefined);
    expect((await conn.db!.collection('conversations').findOne({ _id: new mongo.ObjectId(conv) }))?.last_seq).toBe(5);
  });

  it('seqs reserved and never stored are filled by a reader and counted in last_seq, so they stay in the stream without the counter', async () => {
    const w = await createRealtimeTenant(t.app);
    const members = ['a1', 'a2'];
    const conv = await w.group(members);
    const s = await connectSocket(t.url, await w.token('a1'));
    await send(s, conv, 'first', members);
    // A writer that reserved seqs 2 and 3 a minute ago (the counter's wall time) and died before storing them.
    await setCounter(t, w, conv, 3, Date.now() - 60_000);
    const member = await connectSocket(t.url, await w.token('a2'));
    const read = await syncAll(member, conv);
    expect(read.map((m) => [m.seq, m.gap])).toEqual([
      [1, false],
      [2, true],
      [3, true],
    ]);
    const conn = t.app.get<Connection>(getConnectionToken());
    expect((await conn.db!.collection('conversations').findOne({ _id: new mongo.ObjectId(conv) }))?.last_seq).toBe(3);
    await setCounter(t, w, conv, null);
    expect((await syncAll(member, conv)).map((m) => m.seq)).toEqual([1, 2, 3]);
    expect((await send(s, conv, 'next', members)).seq).toBe(4);
  });

  it('the counter dropped again and again while two nodes send: every send acked once, no seq twice, readers see all', async () => {
    const w = await createRealtimeTenant(t.app);
    const members = ['f1', 'f2', 'f3'];
    const conv = await w.group(members);
    const senders = await Promise.all(members.flatMap((u) => [t, t2].map(async (node) => connectSocket(node.url, await w.token(u)))));
    const PER = 8;
    const acked: Sent[] = [];
    let done = false;
    // The counter is dropped over and over while the sends are reserved and stored.
    const dropper = (async () => {
      while (!done) await setCounter(t, w, conv, null);
    })();
    try {
      await Promise.all(senders.flatMap((s, si) => Array.from({ length: PER }, (_, k) => send(s, conv, `f${si}-${k}`, members).then((m) => acked.push(m)))));
    } finally {
      done = true;
      await dropper;
    }

    expect(acked).toHaveLength(senders.length * PER);
    expect(new Set(acked.map((m) => m.seq)).size).toBe(acked.length);
    const stored = await storedSeqs(t, conv);
    expect(new Set(stored.map((m) => m.seq)).size).toBe(stored.length);
    const bySeq = new Map(stored.map((m) => [m.seq, m.client_msg_id]));
    expect(acked.filter((m) => bySeq.get(m.seq) !== m.client_msg_id)).toEqual([]);

    const reader = await connectSocket(t.url, await w.token('f1'));
    let read: any[] = [];
    // Seqs handed out twice leave no hole; any that did would be filled after the grace period.
    await waitFor(async () => (read = await syncAll(reader, conv).catch(() => [])).length > 0, 15_000, 'a whole stream');
    expect(read.filter((m) => !m.gap).map((m) => m.id).sort()).toEqual(acked.map((m) => m.id).sort());
  });
});

describe('message seqs without Redis (REDIS_URL=none): an in-process counter', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await createTestApp({ env: { REDIS_URL: 'none' } });
    b = await createTestApp({ env: { REDIS_URL: 'none' }, dbName: a.dbName });
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('concurrent sends through two app instances of one process get unique, gap-free seqs', async () => {
    const w = await createRealtimeTenant(a.app);
    const members = ['n1', 'n2'];
    const conv = await w.group(members);
    const sa = await connectSocket(a.url, await w.token('n1'));
    const sb = await connectSocket(b.url, await w.token('n2'));
    const acks = await Promise.all(
      Array.from({ length: 20 }, (_, k) =>
        askOk<Sent>(k % 2 ? sb : sa, 'message:send', { conversation_id: conv, client_msg_id: `n-${k}`, content: envelope(members) }, 30_000),
      ),
    );
    expect(acks.map((m) => m.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect((await storedSeqs(a, conv)).map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});
