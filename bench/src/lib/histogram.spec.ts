import { decodeHistogram, encodeHistogram, mergeHistograms, newHistogram, recordMicros, summarize } from './histogram';

describe('histogram summaries', () => {
  it('reports percentiles in milliseconds within HDR precision', () => {
    const h = newHistogram();
    for (let i = 1; i <= 1000; i++) recordMicros(h, i * 1000); // 1..1000 ms
    const s = summarize(h);
    expect(s.count).toBe(1000);
    expect(s.p50).toBeGreaterThanOrEqual(499);
    expect(s.p50).toBeLessThanOrEqual(501);
    expect(s.p99).toBeGreaterThanOrEqual(989);
    expect(s.p99).toBeLessThanOrEqual(991);
    expect(s.max).toBeGreaterThanOrEqual(999);
    expect(s.max).toBeLessThanOrEqual(1001);
    expect(s.mean).toBeCloseTo(500.5, 0);
  });

  it('summarizes an empty histogram as zeros', () => {
    expect(summarize(newHistogram())).toEqual({ count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 });
  });

  it('clamps out-of-range values instead of throwing', () => {
    const h = newHistogram();
    recordMicros(h, 0);
    recordMicros(h, -5);
    recordMicros(h, 10 ** 12);
    expect(h.totalCount).toBe(3);
    expect(summarize(h).max).toBeGreaterThanOrEqual(119_000);
  });

  it('survives the encode/decode round trip and merges', () => {
    const a = newHistogram();
    const b = newHistogram();
    for (let i = 0; i < 100; i++) recordMicros(a, 1000);
    for (let i = 0; i < 100; i++) recordMicros(b, 3000);
    const merged = mergeHistograms([decodeHistogram(encodeHistogram(a)), decodeHistogram(encodeHistogram(b))]);
    const s = summarize(merged);
    expect(s.count).toBe(200);
    expect(s.p50).toBeCloseTo(1, 1);
    expect(s.p99).toBeCloseTo(3, 1);
  });
});
