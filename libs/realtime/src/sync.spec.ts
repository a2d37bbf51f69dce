import { AppError } from '@chat/errors';
import { distinctCursors, runSync, SYNC_LIMITS, syncWorkUnits } from './sync';
import { WorkGate } from './work-gate';

const store: Record<string, number[]> = { a: [1, 2, 3, 4, 5], b: [1, 2] };
const fetch = async (c: string, after: number, limit: number) => {
  if (!store[c]) throw AppError.notFound('Conversation');
  const all = store[c].filter((s) => s > after);
  return { messages: all.slice(0, limit).map((seq) => ({ seq })), has_more: all.length > limit };
};

describe('runSync', () => {
  it('pages each conversation in order with has_more and next_after_seq', async () => {
    const r = await runSync([{ conversation_id: 'a', after_seq: 1 }, { conversation_id: 'b', after_seq: 0 }], 2, fetch);
    expect(r).toEqual([
      { conversation_id: 'a', messages: [{ seq: 2 }, { seq: 3 }], has_more: true, next_after_seq: 3 },
      { conversation_id: 'b', messages: [{ seq: 1 }, { seq: 2 }], has_more: false, next_after_seq: 2 },
    ]);
  });
  it('reports a conversation the user cannot read on its own', async () => {
    const r = await runSync([{ conversation_id: 'zz', after_seq: 0 }, { conversation_id: 'b', after_seq: 2 }], 10, fetch);
    expect(r[0]).toEqual({ conversation_id: 'zz', error: { code: 'not_found', message: 'Conversation not found' } });
    expect(r[1]).toEqual({ conversation_id: 'b', messages: [], has_more: false, next_after_seq: 2 });
  });
  it('bounds the whole answer', async () => {
    const many = Array.from({ length: 15 }, () => ({ conversation_id: 'a', after_seq: 0 }));
    const big = async (_c: string, _a: number, limit: number) => ({ messages: Array.from({ length: limit }, (_, i) => ({ seq: i + 1 })), has_more: true });
    const r = await runSync(many, SYNC_LIMITS.maxLimit, big);
    const total = r.reduce((n, x) => n + ('messages' in x ? x.messages.length : 0), 0);
    expect(total).toBe(SYNC_LIMITS.maxMessagesPerRequest);
    expect(r.every((x) => 'has_more' in x && x.has_more)).toBe(true);
  });
});

describe('distinctCursors and syncWorkUnits', () => {
  it('keeps one cursor per conversation, first-seen order, the earliest after_seq', () => {
    expect(
      distinctCursors([
        { conversation_id: 'a', after_seq: 5 },
        { conversation_id: 'b', after_seq: 1 },
        { conversation_id: 'a', after_seq: 2 },
        { conversation_id: 'a', after_seq: 9 },
      ]),
    ).toEqual([
      { conversation_id: 'a', after_seq: 2 },
      { conversation_id: 'b', after_seq: 1 },
    ]);
  });
  it('a merged cursor covers every cursor of its conversation (earliest change position, widest range)', () => {
    expect(
      distinctCursors([
        { conversation_id: 'a', after_seq: 5, before_seq: 9, after_change: 4 },
        { conversation_id: 'a', after_seq: 3, before_seq: 12, after_change: 7 },
        { conversation_id: 'b', after_seq: 1, before_seq: 4 },
        { conversation_id: 'b', after_seq: 2 },
      ]),
    ).toEqual([
      { conversation_id: 'a', after_seq: 3, before_seq: 12, after_change: 4 },
      { conversation_id: 'b', after_seq: 1, before_seq: undefined, after_change: undefined },
    ]);
  });
  it('charges one unit per distinct conversation page, at least one', () => {
    const repeated = Array.from({ length: 100 }, () => ({ conversation_id: 'a', after_seq: 0 }));
    expect(syncWorkUnits(repeated, 100)).toBe(1);
    expect(syncWorkUnits([...repeated, { conversation_id: 'b', after_seq: 0 }], 10)).toBe(2);
    expect(syncWorkUnits([], 10)).toBe(1);
  });
});

describe('runSync behind a full WorkGate', () => {
  it('answers the conversations that could not wait with service_unavailable and when to retry', async () => {
    const gate = new WorkGate(1, 0);
    let release!: () => void;
    const held = gate.run(() => new Promise<void>((r) => (release = r)));
    const r = await runSync([{ conversation_id: 'a', after_seq: 0 }], 10, (c, a, l) => gate.run(() => fetch(c, a, l)));
    expect(r).toEqual([{ conversation_id: 'a', error: { code: 'service_unavailable', message: expect.any(String), details: { retry_after_seconds: 1 } } }]);
    release();
    await held;
  });
});
