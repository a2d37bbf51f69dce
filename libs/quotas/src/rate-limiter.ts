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

type Scripted = Redis & {
  chatQuotaWindow(key: string, n: number, limit: number, windowMs: number): Promise<[number, number, number]>;
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
