import { getConnectionToken } from '@nestjs/mongoose';
import { ChatSocket } from '@chat/sdk';
import { Types } from 'mongoose';
import type { Connection } from 'mongoose';
import { ask, askOk, closeAllSockets, connectSocket, createRealtimeTenant, envelope, sendViaService } from './support/socket-client';
import { rid, sdkTenant } from './e2e-helpers';
import { createTestApp, TestApp } from './support/test-app';

/**
 * What one `sync` costs the node, counted in database commands (never in milliseconds): reads of the
 * messages collection of this app's database, as the driver sends them, and how many run at once.
 */
function watchMessageReads(t: TestApp) {
  const client = t.app.get<Connection>(getConnectionToken()).getClient() as unknown as NodeJS.EventEmitter;
  const open = new Set<number>();
  const seen: Array<Record<string, any>> = [];
  let total = 0;
  let maxInFlight = 0;
  const started = (e: any) => {
    if (e.databaseName !== t.dbName || e.commandName !== 'find' || e.command?.find !== 'messages') return;
    total++;
    seen.push(e.command);
    open.add(e.requestId);
    maxInFlight = Math.max(maxInFlight, open.size);
  };
  const ended = (e: any) => open.delete(e.requestId);
  client.on('commandStarted', started);
  client.on('commandSucceeded', ended);
  client.on('commandFailed', ended);
  return {
    get total() {
      return total;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    commands: seen,
    reset() {
      total = 0;
      maxInFlight = open.size;
      seen.length = 0;
    },
    stop() {
      client.off('commandStarted', started);
      client.off('commandSucceeded', ended);
      client.off('commandFailed', ended);
    },
  };
}

const randomIds = (n: number) => Array.from({ length: n }, () => new Types.ObjectId().toHexString());

describe('realtime sync cost: duplicates, the index, the per-node bound', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { SYNC_NODE_CONCURRENCY: '2' } });
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => t?.close());

  it('a conversation id repeated 100 times is answered once and read once', async () => {
    const w = await createRealtimeTenant(t.app);
    const conv = await w.group(['ann', 'ben']);
    for (let i = 0; i < 3; i++) await sendViaService(t.app, w, 'ann', conv, ['ann', 'ben']);
    const ben = await connectSocket(t.url, await w.token('ben'));
    const reads = watchMessageReads(t);
    try {
      const once = await askOk(ben, 'sync', { conversations: [{ conversation_id: conv, after_seq: 0 }] });
      const readsForOne = reads.total;
      expect(readsForOne).toBeGreaterThan(0);
      reads.reset();
      const repeated = await askOk(ben, 'sync', { conversations: Array.from({ length: 100 }, () => ({ conversation_id: conv, after_seq: 0 })) });
      expect(repeated.conversations).toEqual(once.conversations);
      expect(repeated.conversations).toHaveLength(1);
      expect(repeated.conversations[0].messages.map((m: any) => m.seq)).toEqual([1, 2, 3]);
      expect(reads.total).toBe(readsForOne);
    } finally {
      reads.stop();
    }
  });

  it('the same conversation asked with different cursors is answered once, from the earliest', async () => {
    const w = await createRealtimeTenant(t.app);
    const conv = await w.group(['cat', 'dan']);
    for (let i = 0; i < 3; i++) await sendViaService(t.app, w, 'cat', conv, ['cat', 'dan']);
    const dan = await connectSocket(t.url, await w.token('dan'));
    const data = await askOk(dan, 'sync', {
      conversations: [
        { conversation_id: conv, after_seq: 2 },
        { conversation_id: conv, after_seq: 1 },
      ],
    });
    expect(data.conversations).toEqual([{ conversation_id: conv, messages: [expect.objectContaining({ seq: 2 }), expect.objectContaining({ seq: 3 })], has_more: false, next_after_seq: 3, holes: [] }]);
  });

  it('a sync with nothing new (most of a reconnect storm) reads no message: one look-up of the conversation by _id', async () => {
    const w = await createRealtimeTenant(t.app);
    const conv = await w.group(['gil', 'hal']);
    for (let i = 0; i < 2; i++) await sendViaService(t.app, w, 'gil', conv, ['gil', 'hal']);
    const hal = await connectSocket(t.url, await w.token('hal'));
    const first = await askOk(hal, 'sync', { conversations: [{ conversation_id: conv, after_seq: 0, after_change: 0 }] });
    expect(first.conversations[0]).toMatchObject({ next_after_seq: 2, has_more: false });
    const atChange = first.conversations[0].next_after_change;
    const reads = watchMessageReads(t);
    try {
      const idle = await askOk(hal, 'sync', { conversations: [{ conversation_id: conv, after_seq: 2, after_change: atChange }] });
      expect(idle.conversations[0]).toMatchObject({ conversation_id: conv, messages: [], holes: [], has_more: false, next_after_seq: 2 });
      expect(reads.total).toBe(0);
      // Something new: read again.
      await sendViaService(t.app, w, 'gil', conv, ['gil', 'hal']);
      const next = await askOk(hal, 'sync', { conversations: [{ conversation_id: conv, after_seq: 2, after_change: atChange }] });
      expect(next.conversations[0].messages.map((m: any) => m.seq)).toEqual([3]);
      expect(reads.total).toBeGreaterThan(0);
    } finally {
      reads.stop();
    }
  });

  it('reads one conversation by the {tenant_id, conversation_id, seq} index: equality, equality, range, sorted by seq', async () => {
    const w = await createRealtimeTenant(t.app);
    const conv = await w.group(['eva', 'fay']);
    await sendViaService(t.app, w, 'eva', conv, ['eva', 'fay']);
    const fay = await connectSocket(t.url, await w.token('fay'));
    const reads = watchMessageReads(t);
    try {
      await askOk(fay, 'sync', { conversations: [{ conversation_id: conv, after_seq: 0 }], limit: 10 });
      // The index is on the server...
      const indexes = await t.app.get<Connection>(getConnectionToken()).db!.collection('messages').indexes();
      expect(indexes.map((i) => i.key)).toContainEqual({ tenant_id: 1, conversation_id: 1, seq: 1 });
      // ...and the read has the shape MongoDB serves from it with no in-memory sort: equality on its
      // first two fields, a range on the third, sorted by the third.
      const page = reads.commands.find((c) => c.filter?.seq?.$gt === 0);
      expect(page).toBeDefined();
      expect(Object.keys(page!.filter).sort()).toEqual(['conversation_id', 'seq', 'tenant_id']);
      expect(String(page!.filter.tenant_id)).toBe(String(w.tenantId));
      expect(page!.filter.conversation_id).toBe(conv);
      const sort = page!.sort instanceof Map ? Object.fromEntries(page!.sort) : page!.sort;
      expect(sort).toEqual({ seq: 1 });
      // The page size plus one row: the row after a missing seq dates the hole (MessageStream.range).
      expect(page!.limit).toBeLessThanOrEqual(11);
    } finally {
      reads.stop();
    }
  });

  it('many users syncing at once: at most SYNC_NODE_CONCURRENCY message reads run at a time on the node', async () => {
    const w = await createRealtimeTenant(t.app);
    const members = ['g1', 'g2', 'g3', 'g4', 'g5', 'g6'];
    const convs: string[] = [];
    for (let i = 0; i < 8; i++) {
      const c = await w.group(members);
      await sendViaService(t.app, w, 'g1', c, members);
      convs.push(c);
    }
    const sockets = await Promise.all(members.map(async (u) => connectSocket(t.url, await w.token(u))));
    const reads = watchMessageReads(t);
    try {
      const acks = await Promise.all(sockets.map((s) => askOk(s, 'sync', { conversations: convs.map((c) => ({ conversation_id: c, after_seq: 0 })) })));
      for (const a of acks) expect(a.conversations.map((e: any) => e.messages.length)).toEqual(convs.map(() => 1));
      expect(reads.total).toBeGreaterThanOrEqual(convs.length);
      expect(reads.maxInFlight).toBeLessThanOrEqual(2);
    } finally {
      reads.stop();
    }
  });
});

describe('realtime sync cost: per-user work budget across sockets', () => {
  let t: TestApp;
  beforeAll(async () => {
    // A long window: nothing resets while the test runs, so the outcome never depends on timing.
    t = await createTestApp({ env: { SOCKET_USER_WORK_BUDGET: '30', SOCKET_USER_WORK_WINDOW_MS: '600000' } });
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => t?.close());

  it("a user over their work budget gets rate_limited acks on every socket; another user's sends are unaffected", async () => {
    const w = await createRealtimeTenant(t.app);
    const conv = await w.group(['hugo', 'ida']);
    const token = await w.token('hugo');
    const first = await connectSocket(t.url, token);
    const second = await connectSocket(t.url, token);
    const ida = await connectSocket(t.url, await w.token('ida'));
    // 20 conversations cost 20 units: each is a membership check and a page read.
    const sync20 = () => ({ conversations: randomIds(20).map((id) => ({ conversation_id: id, after_seq: 0 })) });
    const ok = await askOk(first, 'sync', sync20());
    expect(ok.conversations).toHaveLength(20);
    // Each socket is far below its own event rate; the user, over both, is past 30 units.
    const refused = await ask(second, 'sync', sync20());
    expect(refused).toEqual({ error: { code: 'rate_limited', message: expect.any(String), details: expect.objectContaining({ retry_after_seconds: expect.any(Number) }) } });
    expect(await ask(first, 'sync', sync20())).toMatchObject({ error: { code: 'rate_limited' } });
    // A refused request is not charged: a small one still fits in what is left (30 - 20).
    expect(await askOk(second, 'sync', { conversations: randomIds(5).map((id) => ({ conversation_id: id, after_seq: 0 })) })).toMatchObject({ conversations: expect.any(Array) });
    const idaSend = await askOk(ida, 'message:send', { conversation_id: conv, content: envelope(['hugo', 'ida']) });
    expect(idaSend).toMatchObject({ conversation_id: conv, seq: 1 });
  });
});

describe('realtime sync cost: the SDK retries what a busy node could not read', () => {
  let t: TestApp;
  const sockets: ChatSocket[] = [];
  beforeAll(async () => {
    // One read at a time and nobody may wait: the second conversation of one sync is refused, always.
    t = await createTestApp({ env: { SYNC_NODE_CONCURRENCY: '1', SYNC_NODE_QUEUE_MAX: '0' } });
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await t?.close();
  });

  it('a service_unavailable entry is synced again after its retry_after_seconds, not dropped', async () => {
    const a = await sdkTenant(t);
    const [alice, bob] = [rid('alice'), rid('bob')];
    const cs = await a.users([alice, bob]);
    const A = await a.device(alice, cs[alice]!);
    await a.device(bob, cs[bob]!);
    const c1 = (await A.client.createConversation({ type: 'group', name: 'one', member_ids: [bob] })).id;
    const c2 = (await A.client.createConversation({ type: 'group', name: 'two', member_ids: [bob] })).id;
    await A.sendText(c1, 'first');
    await A.sendText(c2, 'second');
    const s = new ChatSocket({ url: t.url, token: (await a.server.issueUserToken(bob)).token, positions: { [c1]: 0, [c2]: 0 } });
    sockets.push(s);
    const errors: unknown[] = [];
    s.on('error', (e) => errors.push(e));
    const synced = s.waitFor('synced', () => true, 20_000);
    await s.connect();
    expect(await synced).toEqual({ conversations: 2, messages: 2, changes: 0 });
    expect(s.position(c1)).toBe(1);
    expect(s.position(c2)).toBe(1);
    expect(errors).toEqual([]);
  }, 30_000);
});
