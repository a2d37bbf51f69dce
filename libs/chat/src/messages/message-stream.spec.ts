import { Types } from 'mongoose';
import { Clock } from '@chat/clock';
import type { MessageRecord } from './message.schema';
import { hiddenIds, keyedFor, MessageStream } from './message-stream';
import type { MessageView } from './message.view';
import type { MessagesRepository } from './messages.repository';

const GRACE = 5000;
const ago = (ms: number) => new Date(Date.now() - ms);

function msg(seq: number, createdMsAgo: number, over: Partial<MessageRecord> = {}): MessageRecord {
  const at = ago(createdMsAgo);
  return {
    _id: new Types.ObjectId(),
    tenant_id: 't',
    conversation_id: 'c',
    seq,
    sender_id: 'a',
    client_msg_id: `m${seq}`,
    content: { type: 'text', algorithm: 'x', sender_device_id: 'd', sender_key_version: 1, ephemeral_public_key: 'k', encrypted_data: 'e', encrypted_key: [{ user_id: 'b', device_id: 'd', key_version: 1, wrapped_key: 'w' }] },
    preview: null,
    search_tokens: [],
    mentions: [],
    reactions: [],
    thread: { parent_id: null, reply_count: 0 },
    read_by: [],
    status: 'sent',
    gap: false,
    created_at: at,
    updated_at: at,
    edited_at: null,
    deleted_at: null,
    ...over,
  };
}

/** An in-memory stand-in for the two repository reads and the gap insert the stream uses. */
function fakeRepo(rows: MessageRecord[], tail?: { last_seq: number; last_reserved_at: Date }) {
  const store = [...rows];
  const repo = {
    page: async (_c: string, o: { afterSeq: number; limit: number }) =>
      store
        .filter((m) => m.seq > o.afterSeq)
        .sort((x, y) => x.seq - y.seq)
        .slice(0, o.limit),
    insertGaps: async (_c: string, seqs: number[]) => {
      let n = 0;
      for (const seq of seqs) {
        if (store.some((m) => m.seq === seq)) continue;
        store.push(msg(seq, 0, { gap: true, content: null, sender_id: '' }));
        n++;
      }
      return n;
    },
  };
  const end = async () => tail ?? { last_seq: Math.max(0, ...store.map((m) => m.seq)), last_reserved_at: ago(60_000) };
  return { repo: repo as unknown as MessagesRepository, store, end };
}

const viewer = { userId: 'b', joinedSeq: 0 };
const noShares = async () => new Set<string>();

describe('MessageStream.range', () => {
  it('answers a young hole as pending (stops before it) and an old one by filling it with gap tombstones', async () => {
    const young = fakeRepo([msg(1, 10_000), msg(4, 100)]);
    const s1 = new MessageStream(young.repo, GRACE, async () => undefined, noShares, young.end);
    const p1 = await s1.range('c', viewer, 0, undefined, 10);
    expect(p1.messages.map((m) => m.seq)).toEqual([1]);
    expect(p1.holes).toEqual([
      { seq: 2, state: 'pending' },
      { seq: 3, state: 'pending' },
    ]);
    expect(p1).toMatchObject({ next_after_seq: 1, has_more: true });
    expect(p1.retry_after_ms).toBeGreaterThan(GRACE - 1000);

    const old = fakeRepo([msg(1, 20_000), msg(4, 10_000)]);
    const filled: string[] = [];
    const s2 = new MessageStream(old.repo, GRACE, async (c) => void filled.push(c), noShares, old.end);
    const p2 = await s2.range('c', viewer, 0, undefined, 10);
    expect(p2.messages.map((m) => [m.seq, m.gap])).toEqual([
      [1, false],
      [2, true],
      [3, true],
      [4, false],
    ]);
    expect(p2).toMatchObject({ holes: [], next_after_seq: 4, has_more: false });
    expect(filled).toEqual(['c']);
  });

  it('dates seqs reserved after the last stored message by the last reservation: pending while young, filled once old', async () => {
    const young = fakeRepo([msg(1, 60_000)], { last_seq: 3, last_reserved_at: ago(100) });
    const p1 = await new MessageStream(young.repo, GRACE, async () => undefined, noShares, young.end).range('c', viewer, 0, undefined, 10);
    expect(p1.holes).toEqual([
      { seq: 2, state: 'pending' },
      { seq: 3, state: 'pending' },
    ]);
    expect(p1).toMatchObject({ next_after_seq: 1, has_more: true });
    const old = fakeRepo([msg(1, 60_000)], { last_seq: 3, last_reserved_at: ago(60_000) });
    const p2 = await new MessageStream(old.repo, GRACE, async () => undefined, noShares, old.end).range('c', viewer, 0, undefined, 10);
    expect(p2.messages.map((m) => [m.seq, m.gap])).toEqual([
      [1, false],
      [2, true],
      [3, true],
    ]);
    expect(p2).toMatchObject({ holes: [], next_after_seq: 3, has_more: false });
  });

  it('stops below before_seq and pages by limit', async () => {
    const { repo, end } = fakeRepo([1, 2, 3, 4, 5].map((s) => msg(s, 10_000)));
    const s = new MessageStream(repo, GRACE, async () => undefined, noShares, end);
    expect(await s.range('c', viewer, 1, 4, 10)).toMatchObject({ next_after_seq: 3, has_more: false, holes: [] });
    const page = await s.range('c', viewer, 0, undefined, 2);
    expect(page.messages.map((m) => m.seq)).toEqual([1, 2]);
    expect(page).toMatchObject({ next_after_seq: 2, has_more: true });
  });

  it('answers seqs a later member holds no key for as hidden, unless re-shared to them', async () => {
    const other = { ...msg(2, 10_000).content!, encrypted_key: [] };
    const rows = [msg(1, 10_000), msg(2, 10_000, { content: other }), msg(3, 10_000, { content: other })];
    const { repo, end } = fakeRepo(rows);
    const shared = async () => new Set([String(rows[2]!._id)]);
    const s = new MessageStream(repo, GRACE, async () => undefined, shared, end);
    const page = await s.range('c', { userId: 'b', joinedSeq: 3 }, 0, undefined, 10);
    expect(page.messages.map((m) => m.seq)).toEqual([1, 3]);
    expect(page.holes).toEqual([{ seq: 2, state: 'hidden' }]);
    expect(page.next_after_seq).toBe(3);
  });
});

/** A clock the test moves by hand. */
class HeldClock extends Clock {
  constructor(public t: number) {
    super();
  }
  now(): number {
    return this.t;
  }
}

describe('MessageStream and the Clock', () => {
  const T0 = Date.UTC(2030, 0, 1);
  const at = (ms: number) => new Date(T0 + ms);

  it('ages a hole by the clock: pending until the grace period has passed on it, then filled', async () => {
    const { repo, end } = fakeRepo([msg(1, 0, { created_at: at(0) }), msg(4, 0, { created_at: at(1000) })]);
    const clock = new HeldClock(T0 + 1000 + GRACE);
    const stream = new MessageStream(repo, GRACE, async () => undefined, noShares, end, clock);
    const young = await stream.range('c', viewer, 0, undefined, 10);
    expect(young.holes).toEqual([
      { seq: 2, state: 'pending' },
      { seq: 3, state: 'pending' },
    ]);
    clock.t += 1;
    const old = await stream.range('c', viewer, 0, undefined, 10);
    expect(old.messages.map((m) => [m.seq, m.gap])).toEqual([
      [1, false],
      [2, true],
      [3, true],
      [4, false],
    ]);
  });

  it('moves the change position past a change only once the clock is past its grace period', async () => {
    const changed = msg(1, 0, { updated_at: at(0), change_seq: 7 } as Partial<MessageRecord>);
    const repo = { changes: async () => [changed] } as unknown as MessagesRepository;
    const clock = new HeldClock(T0 + GRACE);
    const stream = new MessageStream(repo, GRACE, async () => undefined, noShares, async () => null, clock);
    expect((await stream.changes('c', viewer, 0, 1, 10)).next_after_change).toBe(0);
    clock.t += 1;
    expect((await stream.changes('c', viewer, 0, 1, 10)).next_after_change).toBe(7);
  });
});

describe('keyedFor', () => {
  it('keeps tombstones, own messages and anything after the membership started', () => {
    const m = { seq: 2, sender_id: 'a', content: { ...msg(2, 0).content!, encrypted_key: [] } };
    expect(keyedFor(m, { userId: 'b', joinedSeq: 2 })).toBe(false);
    expect(keyedFor(m, { userId: 'b', joinedSeq: 1 })).toBe(true);
    expect(keyedFor({ ...m, content: null }, { userId: 'b', joinedSeq: 5 })).toBe(true);
    expect(keyedFor({ ...m, sender_id: 'b' }, { userId: 'b', joinedSeq: 5 })).toBe(true);
  });
});

describe('hiddenIds', () => {
  it('asks about earlier messages only, naming the v2 ones (readable by later members with shared history)', async () => {
    const v1 = { id: 'm1', seq: 1, sender_id: 'a', content: { ...msg(1, 0).content!, encrypted_key: [] } };
    const v2 = { id: 'm2', seq: 2, sender_id: 'a', content: { ...msg(2, 0).content!, encrypted_key: undefined, version: 2 } };
    const later = { id: 'm3', seq: 3, sender_id: 'a', content: msg(3, 0).content };
    const asked: unknown[] = [];
    const views = [v1, v2, later] as unknown as MessageView[];
    const hidden = await hiddenIds('c', views, { userId: 'b', joinedSeq: 2 }, async (_c, _u, ids, v2Ids) => {
      asked.push([ids, v2Ids]);
      return new Set(v2Ids);
    });
    expect(asked).toEqual([[['m1', 'm2'], ['m2']]]);
    expect([...hidden]).toEqual(['m1']);
  });
});
