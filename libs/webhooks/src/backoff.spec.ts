import { backoffDelayMs } from './backoff';

describe('webhook backoff', () => {
  it('doubles per attempt up to the cap, jittered within the upper half', () => {
    const lo = () => 0;
    const hi = () => 1;
    expect([1, 2, 3, 4].map((n) => backoffDelayMs(n, 1000, 60_000, hi))).toEqual([1000, 2000, 4000, 8000]);
    expect([1, 2, 3, 4].map((n) => backoffDelayMs(n, 1000, 60_000, lo))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffDelayMs(30, 1000, 60_000, hi)).toBe(60_000);
    expect(backoffDelayMs(1000, 1000, 60_000, lo)).toBe(30_000);
  });

  it('with the defaults (5 s base, 1 h cap) retries keep coming for 24 hours: about 30 attempts', () => {
    let t = 0;
    let n = 0;
    while (t < 24 * 3600_000) t += backoffDelayMs(++n, 5000, 3600_000, () => 1);
    expect(n).toBeGreaterThan(20);
    expect(n).toBeLessThan(40);
  });
});
