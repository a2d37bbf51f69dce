import { CoalescedFlush } from './coalesced-flush';

describe('CoalescedFlush', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const setUp = (windowMs: number, fullAt = Infinity) => {
    const queue: number[] = [];
    const flushed: number[][] = [];
    const f = new CoalescedFlush(
      async () => void flushed.push(queue.splice(0)),
      () => queue.length > 0,
      windowMs,
      () => queue.length >= fullAt,
    );
    const add = (n: number) => {
      queue.push(n);
      f.soon();
    };
    return { add, flushed };
  };

  it('writes what was queued within the window together, once the window ends', async () => {
    const { add, flushed } = setUp(100);
    add(1);
    await jest.advanceTimersByTimeAsync(50);
    add(2);
    expect(flushed).toEqual([]);
    await jest.advanceTimersByTimeAsync(50);
    expect(flushed).toEqual([[1, 2]]);
  });

  it('ends the window early once enough is waiting', async () => {
    const { add, flushed } = setUp(100, 3);
    add(1);
    add(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(flushed).toEqual([]);
    add(3);
    await jest.advanceTimersByTimeAsync(1);
    expect(flushed).toEqual([[1, 2, 3]]);
  });

  it('without a window, flushes on the next turn', async () => {
    const { add, flushed } = setUp(0);
    add(1);
    add(2);
    await jest.advanceTimersByTimeAsync(0);
    expect(flushed).toEqual([[1, 2]]);
  });
});
