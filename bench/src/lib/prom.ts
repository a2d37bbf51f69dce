/** Sums of Prometheus text-format samples by metric name and label set. */
export type PromSamples = Map<string, number>;

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/;

/** Parses the text exposition format into "name{labels}" -> value (labels kept as written). */
export function parsePrometheus(text: string): PromSamples {
  const out: PromSamples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    if (Number.isFinite(v)) out.set(`${m[1]}${m[2] ?? ''}`, v);
  }
  return out;
}

/** Value of one label of a sample key like `name{a="x",result="hit"}`. */
function label(key: string, name: string): string | undefined {
  const m = new RegExp(`[{,]${name}="([^"]*)"`).exec(key);
  return m?.[1];
}

export interface CacheCounts {
  hit: number;
  miss: number;
}

/** chat_cache_requests_total{result="hit"|"miss"} summed over any other labels. */
export function cacheCounts(samples: PromSamples): CacheCounts {
  const out = { hit: 0, miss: 0 };
  for (const [key, v] of samples) {
    if (!key.startsWith('chat_cache_requests_total')) continue;
    const r = label(key, 'result');
    if (r === 'hit') out.hit += v;
    else if (r === 'miss') out.miss += v;
  }
  return out;
}

/** Hit rate between two scrapes (null when nothing was looked up in between). */
export function hitRateBetween(before: CacheCounts, after: CacheCounts): { hits: number; misses: number; hitRate: number | null } {
  const hits = after.hit - before.hit;
  const misses = after.miss - before.miss;
  return { hits, misses, hitRate: hits + misses > 0 ? hits / (hits + misses) : null };
}

/** GET /metrics from the server under test (loopback only); null when it has none. */
export async function scrapeMetrics(baseUrl: string): Promise<PromSamples | null> {
  try {
    const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return null;
    return parsePrometheus(await res.text());
  } catch {
    return null;
  }
}

/** The cache counts of a scrape (null without one). */
export async function scrapeCache(baseUrl: string): Promise<CacheCounts | null> {
  const samples = await scrapeMetrics(baseUrl);
  return samples && cacheCounts(samples);
}

export interface HistogramSummary {
  /** The value of the split label (empty when the histogram has none, or none was asked). */
  label: string;
  count: number;
  meanMs: number;
  /** Interpolated within buckets, as Prometheus' histogram_quantile does. */
  p50Ms: number;
  p99Ms: number;
}

/**
 * A histogram's observations between two scrapes, one row per value of `byLabel`, optionally only
 * the series whose labels contain `where` (e.g. `event="message:send"`).
 */
export function histogramBetween(before: PromSamples, after: PromSamples, name: string, byLabel?: string, where?: string): HistogramSummary[] {
  const groups = new Map<string, { count: number; sum: number; buckets: Map<number, number> }>();
  const delta = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
  for (const key of after.keys()) {
    if (!key.startsWith(name + '_') || (where && !key.includes(where))) continue;
    const suffix = key.slice(name.length + 1).replace(/\{.*$/, '');
    const g = (byLabel && label(key, byLabel)) || '';
    const entry = groups.get(g) ?? { count: 0, sum: 0, buckets: new Map<number, number>() };
    groups.set(g, entry);
    if (suffix === 'count') entry.count += delta(key);
    else if (suffix === 'sum') entry.sum += delta(key);
    else if (suffix === 'bucket') {
      const le = label(key, 'le');
      const bound = le === '+Inf' ? Infinity : Number(le);
      entry.buckets.set(bound, (entry.buckets.get(bound) ?? 0) + delta(key));
    }
  }
  const rows: HistogramSummary[] = [];
  for (const [g, e] of groups) {
    if (e.count <= 0) continue;
    const bounds = [...e.buckets].sort((a, b) => a[0] - b[0]);
    const quantile = (q: number) => {
      const rank = q * e.count;
      let prevBound = 0;
      let prevCount = 0;
      for (const [bound, cum] of bounds) {
        if (cum >= rank) {
          if (bound === Infinity) return prevBound;
          return prevBound + ((bound - prevBound) * (rank - prevCount)) / Math.max(cum - prevCount, 1e-9);
        }
        prevBound = bound;
        prevCount = cum;
      }
      return prevBound;
    };
    rows.push({ label: g, count: e.count, meanMs: (e.sum / e.count) * 1000, p50Ms: quantile(0.5) * 1000, p99Ms: quantile(0.99) * 1000 });
  }
  return rows;
}

/** chat_db_command_duration_seconds_count by command (the server's MongoDB-wire commands), summed over `ok`. */
export function dbCommandCounts(samples: PromSamples): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, v] of samples) {
    if (!key.startsWith('chat_db_command_duration_seconds_count')) continue;
    const cmd = label(key, 'command') ?? '?';
    out.set(cmd, (out.get(cmd) ?? 0) + v);
  }
  return out;
}

/** Database commands the server sent between two scrapes, by command (only those it sent). */
export function dbCommandsBetween(before: PromSamples, after: PromSamples): Map<string, number> {
  const b = dbCommandCounts(before);
  return new Map([...dbCommandCounts(after)].map(([k, v]) => [k, v - (b.get(k) ?? 0)] as [string, number]).filter(([, v]) => v > 0));
}
