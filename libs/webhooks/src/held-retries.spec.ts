import { HeldRetries } from './held-retries';

describe('HeldRetries', () => {
  it('gives the rows due, earliest first, and nothing before the earliest is due', () => {
    const h = new HeldRetries(10);
    h.add('b', 'ep1', 200);
    h.add('a', 'ep2', 100);
    h.add('c', 'ep1', 300);
    expect(h.anyDue(99)).toBe(false);
    expect(h.due(99)).toEqual([]);
    expect(h.due(250)).toEqual([
      { _id: 'a', endpoint_id: 'ep2' },
      { _id: 'b', endpoint_id: 'ep1' },
    ]);
    h.remove(['a']);
    expect(h.anyDue(150)).toBe(false);
    expect(h.anyDue(200)).toBe(true);
    expect(h.has('a')).toBe(false);
  });

  it('is bounded: beyond max a row is not kept (the caller leaves its lease to run out)', () => {
    const h = new HeldRetries(2);
    expect(h.add('a', 'ep', 1)).toBe(true);
    expect(h.add('b', 'ep', 2)).toBe(true);
    expect(h.add('c', 'ep', 3)).toBe(false);
    expect(h.add('a', 'ep', 5)).toBe(true);
    expect(h.due(10).map((d) => d._id)).toEqual(['b', 'a']);
  });

  it('keeps each row’s owner; leaves out endpoints the caller skips (an open circuit); makes an endpoint’s rows due now', () => {
    const h = new HeldRetries(10);
    h.add('a', 'open', 100, 'n:1');
    h.add('b', 'open', 5000, 'n:2');
    h.add('c', 'ep', 100, 'n:3');
    expect(h.owners('open').sort()).toEqual(['n:1', 'n:2']);
    expect(h.due(200, (ep) => ep === 'open')).toEqual([{ _id: 'c', endpoint_id: 'ep', owner: 'n:3' }]);
    h.remove(['c']);
    h.dueBy(new Set(['open']), 300);
    expect(h.anyDue(300)).toBe(true);
    expect(h.due(300).map((d) => d._id)).toEqual(['a', 'b']);
  });
});
