import { cacheCounts, histogramBetween, hitRateBetween, parsePrometheus } from './prom';

const text = `# HELP chat_cache_requests_total Cache lookups by result
# TYPE chat_cache_requests_total counter
chat_cache_requests_total{result="hit"} 90
chat_cache_requests_total{result="miss"} 10
chat_cache_requests_total{kind="x",result="hit"} 5
process_resident_memory_bytes 123456
chat_cache_hit_ratio 0.9
`;

describe('Prometheus scrape parsing', () => {
  it('reads samples with and without labels', () => {
    const s = parsePrometheus(text);
    expect(s.get('process_resident_memory_bytes')).toBe(123456);
    expect(s.get('chat_cache_requests_total{result="miss"}')).toBe(10);
  });

  it('sums cache lookups by result over other labels', () => {
    expect(cacheCounts(parsePrometheus(text))).toEqual({ hit: 95, miss: 10 });
  });

  it('computes the hit rate between two scrapes', () => {
    expect(hitRateBetween({ hit: 95, miss: 10 }, { hit: 175, miss: 30 })).toEqual({ hits: 80, misses: 20, hitRate: 0.8 });
    expect(hitRateBetween({ hit: 1, miss: 1 }, { hit: 1, miss: 1 }).hitRate).toBeNull();
  });
});

describe('histogram between two scrapes', () => {
  const scrape = (n: number) =>
    parsePrometheus(
      [
        `h_bucket{stage="a",le="0.001"} ${0 * n}`,
        `h_bucket{stage="a",le="0.01"} ${10 * n}`,
        `h_bucket{stage="a",le="+Inf"} ${10 * n}`,
        `h_sum{stage="a"} ${0.05 * n}`,
        `h_count{stage="a"} ${10 * n}`,
        `h_count{stage="b"} 3`,
      ].join('\n'),
    );

  it('splits by label, averages and interpolates quantiles inside a bucket', () => {
    const [a, ...rest] = histogramBetween(scrape(1), scrape(2), 'h', 'stage');
    expect(rest).toEqual([]); // b did not change
    expect(a!.label).toBe('a');
    expect(a!.count).toBe(10);
    expect(a!.meanMs).toBeCloseTo(5);
    expect(a!.p50Ms).toBeCloseTo(5.5);
  });
});
