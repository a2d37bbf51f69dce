import { cacheCounts, hitRateBetween, parsePrometheus } from './prom';

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
