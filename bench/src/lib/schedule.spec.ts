import { dueUntil, intendedOffsetMs, makeClientMsgId, ownDue, parseClientMsgId, senderOf, splitRanges, totalMessages } from './schedule';

describe('open-loop schedule', () => {
  const spec = { rate: 1000, durationMs: 2000, senders: 10 };

  it('spaces messages evenly at the aggregate rate', () => {
    expect(totalMessages(spec)).toBe(2000);
    expect(intendedOffsetMs(spec, 0)).toBe(0);
    expect(intendedOffsetMs(spec, 1)).toBe(1);
    expect(intendedOffsetMs(spec, 1500)).toBe(1500);
    expect(totalMessages({ ...spec, rate: 0 })).toBe(0);
  });

  it('counts what is due by elapsed time, capped at the total', () => {
    expect(dueUntil(spec, -1)).toBe(0);
    expect(dueUntil(spec, 0)).toBe(1);
    expect(dueUntil(spec, 9.5)).toBe(10);
    expect(dueUntil(spec, 10)).toBe(11);
    expect(dueUntil(spec, 1e9)).toBe(2000);
  });

  it('round-robins senders', () => {
    expect([0, 1, 9, 10, 23].map((k) => senderOf(spec, k))).toEqual([0, 1, 9, 0, 3]);
  });

  it('splits senders into near-equal contiguous ranges', () => {
    expect(splitRanges(10, 3)).toEqual([
      [0, 4],
      [4, 7],
      [7, 10],
    ]);
    expect(splitRanges(2, 5)).toEqual([
      [0, 1],
      [1, 2],
    ]);
    expect(splitRanges(0, 2)).toEqual([[0, 0]]);
  });

  it('gives each worker exactly its own messages, and all workers together every message once', () => {
    const ranges = splitRanges(spec.senders, 3);
    const seen: number[] = [];
    for (const [from, to] of ranges) {
      let cursor = 0;
      for (const elapsed of [0, 3.2, 50, 51, 700, 2500]) {
        const until = dueUntil(spec, elapsed);
        const mine = ownDue(spec, from, to, cursor, until);
        for (const k of mine) {
          expect(senderOf(spec, k)).toBeGreaterThanOrEqual(from);
          expect(senderOf(spec, k)).toBeLessThan(to);
        }
        seen.push(...mine);
        cursor = until;
      }
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it('encodes the intended time in the client message id', () => {
    const id = makeClientMsgId(2, 77, 123456789.4);
    expect(id).toBe('b-2-77-123456789');
    expect(parseClientMsgId(id)).toEqual({ worker: 2, k: 77, intendedUs: 123456789 });
    expect(parseClientMsgId('other')).toBeNull();
    expect(parseClientMsgId(42)).toBeNull();
  });
});
