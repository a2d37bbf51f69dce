import { Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisService } from '@chat/redis';

export interface WindowResult {
  allowed: boolean;
  /** Count in the window after this call (unchanged when refused). */
  count: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

// Check-then-increment in one step: a refused call consumes nothing, so a big batch that does not fit
// does not eat the window for the small ones.
const WINDOW_LUA = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local win = tonumber(ARGV[3])
if cur + n > limit then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then ttl = win end
  return {0, cur, ttl}
end
local v = redis.call('INCRBY', KEYS[1], n)
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], win)
  ttl = win
end
return {1, v, ttl}
`;

// A sorted set of live connection ids scored by last refresh: stale members (a crashed node never
// released them) fall out, so the count heals itself.
const CONN_ACQUIRE_LUA = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  return {1, redis.call('ZCARD', KEYS[1])}
end
local c = redis.call('ZCARD', KEYS[1])
if c >= tonumber(ARGV[3]) then return {0, c} end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1, c + 1}
`;

// Several windows in one round trip, in order, stopping at the first refusal (the steps after it are not
// run, so they take nothing). Per step, ARGV holds kind, n, limit, window. A 'claim' step is no window:
// SET NX of its key for `window` ms, answered 1 (this call set it) or 0, and never a refusal (the steps
// after it still run); it only runs when every step before it was allowed. Add first, then look: an
// allowed step costs one INCRBY (and PTTL/PEXPIRE when its window starts), not GET, INCRBY and PTTL.
// 'window' gives a refused add back in the same script, so it took nothing (consume()'s
// check-then-add); 'count' keeps it (a counter whose key names its window, refused past the limit).
// Answers status (1 allowed, 0 refused), count and ttl per step run; an allowed step's ttl is not
// read, but its window's length.
const STEPS_LUA = `
local out = {}
for i = 1, #KEYS do
  local b = (i - 1) * 4
  local n = tonumber(ARGV[b + 2])
  local win = tonumber(ARGV[b + 4])
  if ARGV[b + 1] == 'claim' then
    out[#out + 1] = redis.call('SET', KEYS[i], '1', 'PX', win, 'NX') and 1 or 0
    out[#out + 1] = 0
    out[#out + 1] = win
  else
    local v = redis.call('INCRBY', KEYS[i], n)
    if v == n and redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], win) end
    if v <= tonumber(ARGV[b + 3]) then
      out[#out + 1] = 1
      out[#out + 1] = v
      out[#out + 1] = win
    else
      if ARGV[b + 1] == 'window' then
        v = v - n
        if v == 0 then redis.call('DEL', KEYS[i]) else redis.call('DECRBY', KEYS[i], n) end
      end
      local ttl = redis.call('PTTL', KEYS[i])
      if ttl < 0 then ttl = win end
      out[#out + 1] = 0
      out[#out + 1] = v
      out[#out + 1] = ttl
      break
    end
  end
end
return out
`;

// Gives back what a check-then-add step took, while its window lasts (never below zero).
const REFUND_LUA = `
for i = 1, #KEYS do
  local cur = tonumber(redis.call('GET', KEYS[i]) or '0')
  local n = tonumber(ARGV[i])
  if cur >= n and n > 0 then redis.call('DECRBY', KEYS[i], n) end
end
return 1
`;

/** One step of consumeInOrder. */
export interface WindowStep {
  key: string;
  /**
   * 'window': consume()'s check-then-add; 'count': always adds, refused past the limit (for keys that
   * name their window); 'claim': sets the key for windowMs unless it exists (allowed: this call set it),
   * never a refusal (n and limit unused).
   */
  kind: 'window' | 'count' | 'claim';
  n: number;
  limit: number;
  windowMs: number;
}

type Scripted = Redis & {
  chatQuotaWindow(key: string, n: number, limit: number, windowMs: number): Promise<[number, number, number]>;
  chatQuotaSteps(numKeys: number, ...args: Array<string | number>): Promise<number[]>;
  chatQuotaRefund(numKeys: number, ...args: Array<string | number>): Promise<number>;
  chatQuotaConnAcquire(key: string, now: number, staleBefore: number, limit: number, member: string, ttlMs: number): Promise<[number, number]>;
};

/**
 * Fixed-window counters and connection sets: in Redis (shared by every node, Lua for atomicity,
 * every key with a TTL) or in process when RedisService is in memory mode. A Redis failure fails
 * open (logged): an outage of the limiter must not take the API down with it.
 */
@Injectable()
export class RateLimiter {
  private readonly logger = new Logger('RateLimiter');
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  private readonly conns = new Map<string, Map<string, number>>();
  private lastWarn = 0;
  private sweeps = 0;
  private readonly client: Scripted | null;

  constructor(private readonly redis: RedisService) {
    this.client = redis.mode === 'redis' && redis.client ? (redis.client as Scripted) : null;
    if (this.client && typeof this.client.chatQuotaWindow !== 'function') {
      this.client.defineCommand('chatQuotaWindow', { numberOfKeys: 1, lua: WINDOW_LUA });
      this.client.defineCommand('chatQuotaConnAcquire', { numberOfKeys: 1, lua: CONN_ACQUIRE_LUA });
      this.client.defineCommand('chatQuotaSteps', { lua: STEPS_LUA });
      this.client.defineCommand('chatQuotaRefund', { lua: REFUND_LUA });
    }
  }

  /** True when windows are counted in Redis (shared by every node), so consumeInOrder can be used. */
  get shared(): boolean {
    return this.client !== null;
  }

  /**
   * Several windows in one Redis round trip (one EVALSHA), in order, stopping at the first refused
   * step: the answer has one entry per step run (an allowed step's resetMs is its window's length, an
   * upper bound, not read from Redis). Null when windows are not in Redis, or when Redis
   * fails (logged like failOpen): the caller then applies each step's own fallback.
   */
  async consumeInOrder(steps: readonly WindowStep[]): Promise<WindowResult[] | null> {
    if (!this.client || !steps.length) return null;
    const args: Array<string | number> = steps.map((s) => s.key);
    for (const s of steps) args.push(s.kind, s.n, s.limit, s.windowMs);
    try {
      // In one write with the access check's cache read of the same event (RedisService.writeTogether).
      this.redis.writeTogether();
      const raw = await this.client.chatQuotaSteps(steps.length, ...args);
      const out: WindowResult[] = [];
      for (let i = 0; i + 2 < raw.length; i += 3) out.push({ allowed: raw[i] === 1, count: Number(raw[i + 1]), resetMs: Number(raw[i + 2]) });
      return out;
    } catch (err) {
      this.failOpen(err);
      return null;
    }
  }

  /**
   * Gives back units a check-then-add window took for work that was then refused before it ran (in
   * the same window: a counter that expired meanwhile starts again from zero, which owes nothing).
   */
  async refund(charges: ReadonlyArray<{ key: string; n: number }>): Promise<void> {
    if (!charges.length) return;
    if (this.client) {
      await this.client.chatQuotaRefund(charges.length, ...charges.map((c) => c.key), ...charges.map((c) => c.n)).catch((err: Error) => this.failOpen(err));
      return;
    }
    const now = Date.now();
    for (const { key, n } of charges) {
      const w = this.windows.get(key);
      if (w && w.resetAt > now && w.count >= n) w.count -= n;
    }
  }

  /** Adds n to the window counter unless that would pass the limit. */
  async consume(key: string, n: number, limit: number, windowMs: number): Promise<WindowResult> {
    if (this.client) {
      try {
        const [ok, count, ttl] = await this.client.chatQuotaWindow(key, n, limit, windowMs);
        return { allowed: ok === 1, count: Number(count), resetMs: Number(ttl) };
      } catch (err) {
        this.failOpen(err);
        return { allowed: true, count: 0, resetMs: windowMs };
      }
    }
    const now = Date.now();
    this.sweep(now);
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    if (w.count + n > limit) return { allowed: false, count: w.count, resetMs: w.resetAt - now };
    w.count += n;
    return { allowed: true, count: w.count, resetMs: w.resetAt - now };
  }

  /** Current count without consuming. */
  async peek(key: string): Promise<number> {
    if (this.client) {
      try {
        return Number((await this.client.get(key)) ?? 0);
      } catch (err) {
        this.failOpen(err);
        return 0;
      }
    }
    const w = this.windows.get(key);
    return w && w.resetAt > Date.now() ? w.count : 0;
  }

  async reset(key: string): Promise<void> {
    if (this.client) {
      await this.client.del(key).catch((err: Error) => this.failOpen(err));
      return;
    }
    this.windows.delete(key);
  }

  async acquireMember(key: string, member: string, limit: number, staleMs: number): Promise<{ allowed: boolean; count: number }> {
    const now = Date.now();
    if (this.client) {
      try {
        const [ok, count] = await this.client.chatQuotaConnAcquire(key, now, now - staleMs, limit, member, staleMs * 2);
        return { allowed: ok === 1, count: Number(count) };
      } catch (err) {
        this.failOpen(err);
        return { allowed: true, count: 0 };
      }
    }
    let set = this.conns.get(key);
    if (!set) this.conns.set(key, (set = new Map()));
    for (const [m, ts] of set) if (ts < now - staleMs) set.delete(m);
    if (!set.has(member) && set.size >= limit) return { allowed: false, count: set.size };
    set.set(member, now);
    return { allowed: true, count: set.size };
  }

  async refreshMembers(key: string, members: string[], staleMs: number): Promise<void> {
    if (!members.length) return;
    const now = Date.now();
    if (this.client) {
      try {
        const args: Array<string | number> = [];
        for (const m of members) args.push(now, m);
        await this.client.multi().zadd(key, 'XX', ...args).pexpire(key, staleMs * 2).exec();
      } catch (err) {
        this.failOpen(err);
      }
      return;
    }
    const set = this.conns.get(key);
    if (set) for (const m of members) if (set.has(m)) set.set(m, now);
  }

  async releaseMember(key: string, member: string): Promise<void> {
    if (this.client) {
      await this.client.zrem(key, member).catch((err: Error) => this.failOpen(err));
      return;
    }
    const set = this.conns.get(key);
    set?.delete(member);
    if (set && !set.size) this.conns.delete(key);
  }

  async countMembers(key: string, staleMs: number): Promise<number> {
    const now = Date.now();
    if (this.client) {
      try {
        return await this.client.zcount(key, now - staleMs, '+inf');
      } catch (err) {
        this.failOpen(err);
        return 0;
      }
    }
    let n = 0;
    for (const ts of this.conns.get(key)?.values() ?? []) if (ts >= now - staleMs) n++;
    return n;
  }

  private sweep(now: number): void {
    if (++this.sweeps % 1000 !== 0) return;
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
  }

  private failOpen(err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarn > 10_000) {
      this.lastWarn = now;
      this.logger.warn(`Rate limiter unavailable, allowing requests: ${(err as Error).message}`);
    }
  }
}
