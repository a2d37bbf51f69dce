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
export async function scrapeCache(baseUrl: string): Promise<CacheCounts | null> {
  try {
    const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return null;
    return cacheCounts(parsePrometheus(await res.text()));
  } catch {
    return null;
  }
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

/** Database commands the server sent between two scrapes, by command; null when either scrape failed. */
export async function scrapeDbCommands(baseUrl: string): Promise<Map<string, number> | null> {
  try {
    const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    return res.ok ? dbCommandCounts(parsePrometheus(await res.text())) : null;
  } catch {
    return null;
  }
}
