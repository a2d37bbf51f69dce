import { Types } from 'mongoose';
import { asTenantId, TenantContext } from '@chat/tenancy';
import type { MessageRecord } from './message.schema';
import type { InsertOutcome, NewMessage } from './messages.repository';
import type { ClientMsgKey } from './message-id';
import type { MessageBatchStore, MessageDraft } from './message-batch-contract';
import { MessageWriteBatcher } from './message-write-batcher';

/** In-memory store with the same unique constraints as the collection. */
class FakeStore implements MessageBatchStore {
  lastSeq = new Map<string, number>();
  docs: Array<NewMessage & { tenant_id: string }> = [];
  reserveCalls = 0;
  insertCalls = 0;
  failNextInsert = false;
  tenantsSeen = new Set<string>();

  async reserveSeqs(conversationId: string, count: number): Promise<number> {
    this.reserveCalls++;
    const t = TenantContext.requireTenantId();
    const k = `${t}/${conversationId}`;
    const next = (this.lastSeq.get(k) ?? 0) + count;
    this.lastSeq.set(k, next);
    await new Promise((r) => setImmediate(r));
    return next - count + 1;
  }

  async insertBatch(docs: NewMessage[]): Promise<InsertOutcome[]> {
    this.insertCalls++;
    const t = TenantContext.requireTenantId();
    this.tenantsSeen.add(t);
    await new Promise((r) => setImmediate(r));
    if (this.failNextInsert) {
      this.failNextInsert = false;
      throw new Error('connection reset');
    }
    return docs.map((d) => {
      const clash = this.docs.some(
        (x) =>
          x.tenant_id === t &&
          ((x.conversation_id === d.conversation_id && x.seq === d.seq) || (x.conversation_id === d.conversation_id && x.sender_id === d.sender_id && x.client_msg_id === d.client_msg_id)),
      );
      if (clash) return { ok: false as const, duplicateKey: true, error: new Error('E11000') };
      this.docs.push({ ...d, tenant_id: t });
      return { ok: true as const };
    });
  }

  lookups = 0;
  async findByClientMsgIds(keys: ClientMsgKey[]): Promise<MessageRecord[]> {
    this.lookups++;
    const t = TenantContext.requireTenantId();
    return this.docs.filter((d) => d.tenant_id === t && keys.some((k) => k.conversation_id === d.conversation_id && k.sender_id === d.sender_id && k.client_msg_id === d.client_msg_id)) as MessageRecord[];
  }

  findByClientMsgFields(keys: ClientMsgKey[]): Promise<MessageRecord[]> {
    return this.findByClientMsgIds(keys);
  }

  async insertGap(conversationId: string, seq: number, senderId: string, now: Date): Promise<boolean> {
    const [o] = await this.insertBatch([{ ...draft(conversationId, senderId, `gap:${conversationId}:${seq}`), _id: new Types.ObjectId(), seq, gap: true, created_at: now }]);
    return o!.ok;
  }
}

function draft(conversationId: string, senderId: string, clientMsgId: string): MessageDraft {
  const now = new Date();
  return {
    conversation_id: conversationId,
    sender_id: senderId,
    client_msg_id: clientMsgId,
    content: null,
    preview: null,
    search_tokens: [],
    mentions: [],
    reactions: [],
    thread: { parent_id: null, reply_count: 0 },
    read_by: [],
    status: 'sent',
    gap: false,
    created_at: now,
    updated_at: now,
    edited_at: null,
    deleted_at: null,
  };
}

const T1 = asTenantId('tenant-one');
const T2 = asTenantId('tenant-two');

describe('MessageWriteBatcher', () => {
  let store: FakeStore;
  let committed: Array<{ tenant: string; conversation: string; seqs: number[] }>;
  const make = (opts: Partial<ConstructorParameters<typeof MessageWriteBatcher>[1]> = {}) =>
    new MessageWriteBatcher(store, { windowMs: 2, maxBatch: 256, concurrency: 4, queueMax: 10_000, ...opts }, {
      commit: async (tenant, conversation, msgs) => {
        committed.push({ tenant, conversation, seqs: msgs.map((m) => m.seq) });
      },
    });

  beforeEach(() => {
    store = new FakeStore();
    committed = [];
  });

  it('groups concurrent sends into one reservation and one insert per conversation, seqs contiguous', async () => {
    const b = make();
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => b.submit(T1, draft('c1', `u${i % 7}`, `m${i}`))));
    expect(store.reserveCalls).toBe(1);
    expect(store.insertCalls).toBe(1);
    const seqs = results.map((r) => r.message.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(results.every((r) => !r.duplicate && r.message.tenant_id === T1)).toBe(true);
    expect(committed).toEqual([{ tenant: T1, conversation: 'c1', seqs: expect.any(Array) }]);
  });

  it('keeps tenants apart: each tenant is written in its own context with its own seqs', async () => {
    const b = make();
    const [a, c] = await Promise.all([b.submit(T1, draft('c1', 'u', 'x')), b.submit(T2, draft('c1', 'u', 'x'))]);
    expect(a.message.seq).toBe(1);
    expect(c.message.seq).toBe(1);
    expect(a.duplicate || c.duplicate).toBe(false);
    expect([...store.tenantsSeen].sort()).toEqual([T1, T2].sort());
  });

  it('a client_msg_id repeated in one batch yields one message', async () => {
    const b = make();
    const [x, y] = await Promise.all([b.submit(T1, draft('c1', 'u', 'same')), b.submit(T1, draft('c1', 'u', 'same'))]);
    expect(x.message._id.equals(y.message._id)).toBe(true);
    expect([x.duplicate, y.duplicate]).toEqual([false, true]);
    expect(store.docs).toHaveLength(1);
  });

  it('a client_msg_id already stored resolves to the original without spending a seq (one lookup per batch)', async () => {
    const b = make();
    const first = await b.submit(T1, draft('c1', 'u', 'retry'));
    store.lookups = 0;
    const [again, other] = await Promise.all([b.submit(T1, draft('c1', 'u', 'retry')), b.submit(T1, draft('c1', 'v', 'fresh'))]);
    expect(store.lookups).toBe(1);
    expect(again.duplicate).toBe(true);
    expect(again.message._id.equals(first.message._id)).toBe(true);
    expect(other.message.seq).toBe(2);
  });

  it('a retry that gets past the lookup (raced from another node) resolves to the original; its seq becomes a gap', async () => {
    const b = make();
    const first = await b.submit(T1, draft('c1', 'u', 'retry'));
    const again = await b.submit(T1, draft('c1', 'u', 'retry'), { lookupExisting: false });
    expect(again.duplicate).toBe(true);
    expect(again.message._id.equals(first.message._id)).toBe(true);
    const stored = store.docs.filter((d) => d.conversation_id === 'c1').map((d) => d.seq).sort();
    expect(stored).toEqual([1, 2]); // seq 2 is the gap filler
    expect(store.docs.find((d) => d.seq === 2)?.gap).toBe(true);
  });

  it('server-generated ids are not looked up', async () => {
    const b = make();
    await b.submit(T1, draft('c1', 'u', 'generated'), { lookupExisting: false });
    expect(store.lookups).toBe(0);
  });

  it('a failed write rejects its senders and still fills the seqs', async () => {
    const b = make();
    store.failNextInsert = true;
    const res = await Promise.allSettled([b.submit(T1, draft('c1', 'u', 'a')), b.submit(T1, draft('c1', 'u', 'b'))]);
    expect(res.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((res[0] as PromiseRejectedResult).reason.code).toBe('service_unavailable');
    expect(store.docs.map((d) => d.seq).sort()).toEqual([1, 2]);
    const ok = await b.submit(T1, draft('c1', 'u', 'a'));
    expect(ok.message.seq).toBe(3);
  });

  it('commits one conversation\'s batches in reservation order, and splits by maxBatch', async () => {
    const b = make({ maxBatch: 10, concurrency: 4 });
    const res = await Promise.all(Array.from({ length: 35 }, (_, i) => b.submit(T1, draft('hot', 'u', `m${i}`))));
    expect(new Set(res.map((r) => r.message.seq)).size).toBe(35);
    // Each batch stores a contiguous block, and blocks are stored in reservation order.
    const flat = committed.flatMap((c) => c.seqs);
    expect(flat).toEqual(Array.from({ length: 35 }, (_, i) => i + 1));
    expect(committed.length).toBe(4);
  });

  it('refuses with 503 when the queue is full, and refuses after drain', async () => {
    const b = make({ queueMax: 2, windowMs: 50 });
    const p = [b.submit(T1, draft('c', 'u', '1')), b.submit(T1, draft('c', 'u', '2'))];
    await expect(b.submit(T1, draft('c', 'u', '3'))).rejects.toMatchObject({ code: 'service_unavailable' });
    await b.drain();
    await Promise.all(p);
    await expect(b.submit(T1, draft('c', 'u', '4'))).rejects.toMatchObject({ code: 'service_unavailable' });
  });

  it('a seq already taken (a counter re-seeded behind seqs in flight) is retried with a fresh seq above the stored ones, not refused', async () => {
    const b = make();
    await Promise.all([1, 2, 3].map((i) => b.submit(T1, draft('c1', 'u', `m${i}`))));
    // The counter lost: it hands out 2.. again.
    const key = `${T1}/c1`;
    store.lastSeq.set(key, 1);
    const raised: string[] = [];
    const withRaise = store as FakeStore & { raiseSeqsAbove(c: string): Promise<void> };
    withRaise.raiseSeqsAbove = async (c) => {
      raised.push(c);
      const top = Math.max(0, ...store.docs.filter((d) => d.conversation_id === c).map((d) => d.seq));
      store.lastSeq.set(key, Math.max(store.lastSeq.get(key) ?? 0, top));
    };
    const later = await Promise.all([4, 5, 6].map((i) => b.submit(T1, draft('c1', 'u', `m${i}`))));
    expect(later.every((r) => !r.duplicate)).toBe(true);
    expect(raised).toEqual(['c1']);
    expect(store.docs.map((d) => d.seq).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(store.docs.filter((d) => d.gap)).toEqual([]);
  });

  it('a seq already taken is refused with 503 when the store cannot raise its counter', async () => {
    const b = make();
    await b.submit(T1, draft('c1', 'u', 'a'));
    store.lastSeq.set(`${T1}/c1`, 0);
    await expect(b.submit(T1, draft('c1', 'u', 'b'))).rejects.toMatchObject({ code: 'service_unavailable' });
  });

  it('with a zero window still batches what arrives in the same tick', async () => {
    const b = make({ windowMs: 0 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => b.submit(T1, draft('c', 'u', `m${i}`))));
    expect(store.insertCalls).toBe(1);
  });

  describe('two batches of one conversation in flight', () => {
    /** Inserts of messages whose client_msg_id starts with `held` wait until released. */
    class HeldStore extends FakeStore {
      private gates: Array<() => void> = [];
      held = 0;
      override async insertBatch(docs: NewMessage[]): Promise<InsertOutcome[]> {
        if (docs.some((d) => d.client_msg_id.startsWith('held'))) {
          this.held++;
          await new Promise<void>((r) => this.gates.push(r));
        }
        return super.insertBatch(docs);
      }
      release(): void {
        this.gates.splice(0).forEach((r) => r());
      }
    }
    const until = async (cond: () => boolean) => {
      while (!cond()) await new Promise((r) => setImmediate(r));
    };
    let held: HeldStore;
    let b: MessageWriteBatcher;
    beforeEach(() => {
      held = new HeldStore();
      store = held;
      b = make({ windowMs: 0 });
    });

    it('the next batch is stored while the one before it is held, and commits after it, in seq order', async () => {
      const first = b.submit(T1, draft('c', 'u', 'held-1'));
      await until(() => held.held === 1);
      const second = b.submit(T1, draft('c', 'u', 'two'));
      // Stored while the first is still held...
      await until(() => held.docs.some((d) => d.client_msg_id === 'two'));
      expect(committed).toEqual([]);
      held.release();
      const [x, y] = await Promise.all([first, second]);
      expect([x.message.seq, y.message.seq]).toEqual([1, 2]);
      // ...and committed (its events) only after the first.
      expect(committed.map((c) => c.seqs)).toEqual([[1], [2]]);
    });

    it('a third batch of the conversation waits until one of the two is over', async () => {
      const sends = [b.submit(T1, draft('c', 'u', 'held-1'))];
      await until(() => held.held === 1);
      sends.push(b.submit(T1, draft('c', 'u', 'held-2')));
      await until(() => held.held === 2);
      sends.push(b.submit(T1, draft('c', 'u', 'three')));
      // Other conversations are not held up by it.
      await b.submit(T1, draft('other', 'u', 'x'));
      expect(b.queueDepth).toBe(1);
      expect(held.docs.some((d) => d.client_msg_id === 'three')).toBe(false);
      held.release();
      const res = await Promise.all(sends);
      expect(res.map((r) => r.message.seq)).toEqual([1, 2, 3]);
      expect(committed.filter((c) => c.conversation === 'c').map((c) => c.seqs)).toEqual([[1], [2], [3]]);
    });

    it('a send whose client_msg_id is in a batch in flight waits for it and is its duplicate, spending no seq', async () => {
      const original = b.submit(T1, draft('c', 'u', 'held-1'));
      await until(() => held.held === 1);
      const retry = b.submit(T1, draft('c', 'u', 'held-1'));
      const other = b.submit(T1, draft('c', 'u', 'fresh'));
      await until(() => held.docs.some((d) => d.client_msg_id === 'fresh'));
      held.release();
      const [o, r, f] = await Promise.all([original, retry, other]);
      expect(r.duplicate).toBe(true);
      expect(r.message._id.equals(o.message._id)).toBe(true);
      expect([o.message.seq, f.message.seq]).toEqual([1, 2]);
      expect(held.docs.filter((d) => d.gap)).toEqual([]);
    });
  });
});
