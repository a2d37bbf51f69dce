import { Redis } from 'ioredis';

/** Calls by command from `INFO commandstats` ("cmdstat_get:calls=12,usec=..." lines). */
export function parseCommandStats(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** Commands counted between two readings, minus the readings' own INFO calls. */
export function commandsBetween(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [cmd, n] of after) {
    const d = n - (before.get(cmd) ?? 0) - (cmd === 'info' ? 1 : 0);
    if (d > 0) out.set(cmd, d);
  }
  return out;
}

/** Reads the Redis server's command counters (every client of it: run one target at a time). */
export async function readCommandStats(url: string): Promise<Map<string, number> | null> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    return parseCommandStats(await client.info('commandstats'));
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}
