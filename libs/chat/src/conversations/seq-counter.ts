import type Redis from 'ioredis';
import { CacheDropKeys, GENERATION_TTL_SECONDS } from '@chat/cache';
import { promiseTry } from '@chat/errors';
import { RedisService } from '@chat/redis';

/** A conversation's counter: the highest seq handed out and when (wall time, ms) it was last reserved. */
export interface SeqCount {
  seq: number;
  at: number;
}

/** How long a counter nobody reserved from lives: an idle conversation is seeded again from the database. */
export const SEQ_COUNTER_TTL_MS = 7 * 24 * 3600 * 1000;

/** A counter's TTL is refreshed when an eighth of it has passed since the last refresh (RESERVE). */
const TTL_REFRESHES = 8;

/**
 * Reserves, per counter, `count` after max(stored, floor) when the key exists or a floor (seed) is given;
 * -1 on a miss without a floor. The floor only ever raises the value, so two nodes seeding at once never
 * lower it. The counters are independent (one conversation's reservation never depends on another's),
 * so a tick's reservations go in one call. Returns one value per counter.
 * The TTL is set with a new key and refreshed only when the last refresh (field `e`, the `at` of the
 * reservation that made it) is older than ARGV[2] (or in the future: another node's clock), not on every
 * reservation: a counter in use never comes near the end of its TTL, and a busy conversation's
 * reservations are two commands in the script, not three.
 * A reservation may also drop a cache entry (the conversation's newest page, whose messages it is about
 * to write) as CacheService.del does: INCR its generation, EXPIRE it, DEL the value; not on a miss. The
 * generation's TTL is set with a new key and refreshed with the counter's (the refresh interval, 7/8 of
 * a day, is shorter than the generation's day), not on every send: a generation still outlives by hours
 * any value cached under it, and expires at the earliest 3 hours after the conversation's last send.
 * KEYS the counters, then the cache keys (value, generation) of the drops; ARGV ttl (ms), refresh
 * interval (ms), number of counters, generation TTL (s), then count, floor ('' for none), at (ms) and the
 * index in KEYS of its drop's value key (0: none) per counter.
 */
const RESERVE = `
local out = {}
local ttl = ARGV[1]
local every = tonumber(ARGV[2])
for i = 1, tonumber(ARGV[3]) do
  local got = redis.call('HMGET', KEYS[i], 'seq', 'e')
  local cur = tonumber(got[1])
  local floor = tonumber(ARGV[4 * i + 2])
  if not cur and not floor then
    out[i] = -1
  else
    local at = ARGV[4 * i + 3]
    local now = tonumber(at)
    local refreshed = tonumber(got[2])
    local fresh = cur and refreshed and now >= refreshed and now - refreshed < every
    if not cur or (floor and floor > cur) then cur = floor end
    local last = cur + tonumber(ARGV[4 * i + 1])
    if fresh then
      redis.call('HSET', KEYS[i], 'seq', last, 'at', at)
    else
      redis.call('HSET', KEYS[i], 'seq', last, 'at', at, 'e', at)
      redis.call('PEXPIRE', KEYS[i], ttl)
    end
    local drop = tonumber(ARGV[4 * i + 4])
    if drop > 0 then
      local gen = redis.call('INCR', KEYS[drop + 1])
      if gen == 1 or not fresh or every >= tonumber(ARGV[4]) * 1000 then redis.call('EXPIRE', KEYS[drop + 1], ARGV[4]) end
      redis.call('DEL', KEYS[drop])
    end
    out[i] = last
  end
end
return out`;

/**
 * Raises the counter to at least ARGV[1] (never lowers it); `at` (ARGV[2]) is only written with a new key
 * (a raise hands out nothing). Returns the value now. ARGV floor, at, ttl (ms).
 */
const RAISE = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'seq'))
local floor = tonumber(ARGV[1])
if not cur then
  redis.call('HSET', KEYS[1], 'seq', floor, 'at', ARGV[2])
  cur = floor
elseif floor > cur then
  redis.call('HSET', KEYS[1], 'seq', floor)
  cur = floor
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return cur`;

type CounterClient = Redis & {
  chatSeqRaise(key: string, floor: string, at: string, ttlMs: string): Promise<number>;
  chatSeqReserve(numKeys: number, ...args: string[]): Promise<number[]>;
};

/** Reservations asked for in one tick, sent as one script call (a batch reserves for each of its conversations at once). */
interface ReserveBatch {
  asks: Array<{ key: string; count: number; at: number; floor?: number; drop?: CacheDropKeys; resolve: (last: number | null) => void; reject: (err: unknown) => void }>;
}

/**
 * The per-conversation seq counters, off the database (docs/life-of-a-message.md, step 4): a Redis hash
 * `{seq, at}` per tenant and conversation, changed by one script per call; without Redis
 * (REDIS_URL=none, one node) a map in this process with the same behaviour. A counter is only a
 * cache of the database's high-water mark (ConversationSeqs seeds it on a miss): it may expire or be
 * lost at any time. Redis errors are thrown: the caller falls back to the database.
 */
export class SeqCounter {
  private readonly client: CounterClient | null;
  /** The reservations asked for in this tick, not yet sent (together). */
  private reserveBatch: ReserveBatch | null = null;

  constructor(
    private readonly redis: RedisService,
    private readonly ttlMs = SEQ_COUNTER_TTL_MS,
  ) {
    this.client = redis.client as CounterClient | null;
    // EVALSHA with a fallback to EVAL: the scripts are not sent with every call.
    if (this.client && typeof this.client.chatSeqReserve !== 'function') {
      this.client.defineCommand('chatSeqReserve', { lua: RESERVE });
      this.client.defineCommand('chatSeqRaise', { numberOfKeys: 1, lua: RAISE });
    }
  }

  /** In Redis (shared by every node), not in this process. */
  get shared(): boolean {
    return this.client !== null;
  }

  /** The counter's Redis key (a hash; field `seq` is the highest seq handed out). */
  key(tenantId: string, conversationId: string): string {
    return this.redis.key('seq', tenantId, conversationId);
  }

  /**
   * Reserves `count` seqs and returns the last one; null when there is no counter and no `floor` was
   * given (the caller seeds it and asks again with the floor). With `drop` (Redis only), the same script
   * drops that cache entry when it reserves.
   */
  reserve(tenantId: string, conversationId: string, count: number, at: number, floor?: number, drop?: CacheDropKeys): Promise<number | null> {
    // Not async: the batch's one promise per reservation answers it (on Node 20 every promise runs
    // AsyncLocalStorage's hooks); failures still reject, never throw.
    return promiseTry(() => {
      const key = this.key(tenantId, conversationId);
      if (!this.client) return memory.reserve(key, count, at, floor, this.ttlMs);
      return this.together(this.client, key, count, at, floor, drop);
    });
  }

  /**
   * The reservations started in this tick go as one RESERVE call: a batch of sends to n conversations
   * reserves with one round trip, not n. A failure fails each of them, as separate calls would have failed.
   */
  private together(client: CounterClient, key: string, count: number, at: number, floor: number | undefined, drop: CacheDropKeys | undefined): Promise<number | null> {
    let batch = this.reserveBatch;
    if (!batch) {
      const b: ReserveBatch = (batch = this.reserveBatch = { asks: [] });
      queueMicrotask(() => {
        this.reserveBatch = null;
        const floorArg = (f: number | undefined) => (f === undefined ? '' : String(f));
        const keys = b.asks.map((a) => a.key);
        const dropAt = b.asks.map((a) => (a.drop ? keys.push(a.drop.value, a.drop.generation) - 1 : 0));
        const counts = [String(this.ttlMs), String(Math.floor(this.ttlMs / TTL_REFRESHES)), String(b.asks.length), String(GENERATION_TTL_SECONDS)];
        const args = [...keys, ...counts, ...b.asks.flatMap((a, i) => [String(a.count), floorArg(a.floor), String(a.at), String(dropAt[i])])];
        client.chatSeqReserve(keys.length, ...args).then(
          // A negative answer: no counter (reserve's null).
          (values) =>
            b.asks.forEach((a, i) => {
              const last = Number(values[i]);
              a.resolve(last < 0 ? null : last);
            }),
          (err: unknown) => b.asks.forEach((a) => a.reject(err)),
        );
      });
    }
    const target = batch;
    return new Promise((resolve, reject) => target.asks.push({ key, count, at, floor, drop, resolve, reject }));
  }

  /** Raises the counter to at least `floor`, creating it (dated `at`) when missing. Returns its value. */
  async raise(tenantId: string, conversationId: string, floor: number, at: number): Promise<number> {
    const key = this.key(tenantId, conversationId);
    if (!this.client) return memory.raise(key, floor, at, this.ttlMs);
    return Number(await this.client.chatSeqRaise(key, String(floor), String(at), String(this.ttlMs)));
  }

  /** The counter as it is (null: none), for readers. */
  async peek(tenantId: string, conversationId: string): Promise<SeqCount | null> {
    return (await this.peekMany(tenantId, [conversationId]))[0] ?? null;
  }

  /** Several counters in one round trip (conversation lists). */
  async peekMany(tenantId: string, conversationIds: string[]): Promise<Array<SeqCount | null>> {
    if (!conversationIds.length) return [];
    if (!this.client) return conversationIds.map((id) => memory.peek(this.key(tenantId, id)));
    const p = this.client.pipeline();
    for (const id of conversationIds) p.hmget(this.key(tenantId, id), 'seq', 'at');
    const res = (await p.exec()) ?? [];
    return conversationIds.map((_, i) => {
      const [err, v] = res[i] ?? [new Error('no answer'), null];
      if (err) throw err;
      const [seq, at] = v as Array<string | null>;
      return seq === null ? null : { seq: Number(seq), at: Number(at ?? 0) };
    });
  }
}

/**
 * Without Redis: one map per process (every app instance of a test process shares it, as they share the
 * database), entries dropped after the TTL without use like the Redis keys.
 */
class MemoryCounters {
  private readonly counters = new Map<string, SeqCount & { expires: number }>();
  private calls = 0;

  private live(key: string): (SeqCount & { expires: number }) | undefined {
    // Expiry runs on the process's own clock, as Redis TTLs run on Redis's.
    const now = Date.now();
    if (++this.calls % 1000 === 0) for (const [k, c] of this.counters) if (c.expires <= now) this.counters.delete(k);
    const c = this.counters.get(key);
    if (c && c.expires <= now) {
      this.counters.delete(key);
      return undefined;
    }
    return c;
  }

  reserve(key: string, count: number, at: number, floor: number | undefined, ttlMs: number): number | null {
    const c = this.live(key);
    if (!c && floor === undefined) return null;
    const last = Math.max(c?.seq ?? 0, floor ?? 0) + count;
    this.counters.set(key, { seq: last, at, expires: Date.now() + ttlMs });
    return last;
  }

  raise(key: string, floor: number, at: number, ttlMs: number): number {
    const c = this.live(key);
    const next = c ? { seq: Math.max(c.seq, floor), at: c.at } : { seq: floor, at };
    this.counters.set(key, { ...next, expires: Date.now() + ttlMs });
    return next.seq;
  }

  peek(key: string): SeqCount | null {
    const c = this.live(key);
    return c ? { seq: c.seq, at: c.at } : null;
  }
}

const memory = new MemoryCounters();
