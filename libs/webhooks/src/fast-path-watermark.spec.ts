import { Clock } from '@chat/clock';
import { FastPathWatermark } from './fast-path-watermark';

class HeldClock extends Clock {
  t = 1_000_000;
  now(): number {
    return this.t;
  }
}

describe('FastPathWatermark', () => {
  it('vouches up to the oldest recording still running, minus the overlap; then up to now', async () => {
    const clock = new HeldClock();
    const w = new FastPathWatermark(clock);
    let finish!: () => void;
    const running = w.track(() => new Promise<void>((r) => (finish = r)));
    clock.t += 5000;
    expect(w.safeBefore(30_000).getTime()).toBe(1_000_000 - 30_000);
    expect(w.clean()).toBe(false);
    finish();
    await running;
    expect(w.safeBefore(30_000).getTime()).toBe(clock.t - 30_000);
    expect(w.clean()).toBe(true);
  });

  it('a failed recording holds the mark until a sweep covered it', async () => {
    const clock = new HeldClock();
    const w = new FastPathWatermark(clock);
    await expect(w.track(() => Promise.reject(new Error('insert refused')))).rejects.toThrow('insert refused');
    const failedAt = clock.t;
    clock.t += 60_000;
    expect(w.oldestFailure()).toBe(failedAt);
    expect(w.safeBefore(30_000).getTime()).toBe(failedAt - 30_000);
    w.coveredUpTo(failedAt); // a sweep that ended before the failure was raised does not cover it
    expect(w.oldestFailure()).toBe(failedAt);
    w.coveredUpTo(clock.t);
    expect(w.oldestFailure()).toBeUndefined();
    expect(w.clean()).toBe(true);
  });

  it('a recording that throws before it returns a promise counts as failed', async () => {
    const w = new FastPathWatermark(new HeldClock());
    await expect(
      w.track(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(w.oldestFailure()).toBeDefined();
  });

  it('a handler that threw before recording counts as a failure raised then', () => {
    const clock = new HeldClock();
    const w = new FastPathWatermark(clock);
    w.noteFailure();
    expect(w.oldestFailure()).toBe(clock.t);
    expect(w.clean()).toBe(false);
  });
});
