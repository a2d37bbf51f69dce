import { RateLimiter, WindowResult, WindowStep } from '@chat/quotas';
import { RedisService } from '@chat/redis';
import { TenantId } from '@chat/tenancy';

/**
 * In-process token bucket: one per socket (a socket lives on one node, so no shared state is needed).
 * Allows bursts up to `capacity` and `ratePerSecond` sustained.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  /** Takes one token; returns 0 when allowed, else the milliseconds until one is available. */
  take(): number {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
  }
}

/**
 * Per-tenant event budget shared by every gateway node: a fixed one-second window counted in Redis
 * (INCR on a key that carries the tenant and the second), or in process when Redis is not in use.
 * While Redis fails (an outage) each node counts in process, like the quota limiter failing open: the
 * budget then holds per node, and no event is refused because the limiter cannot count it.
 */
export class TenantEventLimiter {
  private readonly local = new Map<string, { window: number; count: number }>();

  constructor(
    private readonly redis: RedisService,
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one event; returns 0 when allowed, else the milliseconds until the window resets. */
  async take(tenantId: TenantId): Promise<number> {
    if (this.perSecond <= 0) return 0;
    const w = this.window();
    const count = (await this.countInRedis(tenantId, w.window)) ?? this.countLocally(tenantId, w.window);
    return count > this.perSecond ? w.retryMs : 0;
  }

  /**
   * This event's count as a step of RateLimiter.consumeInOrder (null when the limit is off), with
   * `answer` to read its result and `fallback` to count it in process when Redis failed.
   */
  step(tenantId: TenantId): { step: WindowStep; answer(r: WindowResult): number; fallback(): number } | null {
    if (this.perSecond <= 0) return null;
    const { window, retryMs } = this.window();
    return {
      step: { key: this.key(tenantId, window), kind: 'count', n: 1, limit: this.perSecond, windowMs: 2000 },
      answer: (r) => (r.allowed ? 0 : retryMs),
      fallback: () => (this.countLocally(tenantId, window) > this.perSecond ? retryMs : 0),
    };
  }

  private window(): { window: number; retryMs: number } {
    const t = this.now();
    const window = Math.floor(t / 1000);
    return { window, retryMs: (window + 1) * 1000 - t };
  }

  private key(tenantId: TenantId, window: number): string {
    return this.redis.key('rt', 't', tenantId, 'events', window);
  }

  /** The window's count after this event, or null without Redis or when it fails. */
  private async countInRedis(tenantId: TenantId, window: number): Promise<number | null> {
    if (this.redis.mode !== 'redis' || !this.redis.client) return null;
    const key = this.key(tenantId, window);
    try {
      const res = await this.redis.client.multi().incr(key).pexpire(key, 2000).exec();
      const [err, count] = res?.[0] ?? [null, null];
      return err || count === null ? null : Number(count);
    } catch {
      return null;
    }
  }

  private countLocally(tenantId: TenantId, window: number): number {
    const cur = this.local.get(tenantId);
    if (!cur || cur.window !== window) {
      this.local.set(tenantId, { window, count: 1 });
      if (this.local.size > 10_000) this.prune(window);
      return 1;
    }
    return ++cur.count;
  }

  private prune(window: number): void {
    for (const [k, v] of this.local) if (v.window !== window) this.local.delete(k);
  }
}

/**
 * Per-user work budget over all of the user's sockets on every node: each event is charged its cost in
 * work units (1 for most, one per conversation page for sync) in a fixed window counted in Redis (in
 * process without Redis). The per-socket bucket counts events, so six sockets each under their own
 * rate, each asking for 100 conversations, could still starve everyone else; this counts the work.
 */
export class UserWorkBudget {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly redis: RedisService,
    private readonly budget: number,
    private readonly windowMs: number,
  ) {}

  /** Charges `units`; returns 0 when allowed, else the milliseconds until the window resets. A refused charge costs nothing. */
  async take(tenantId: TenantId, userId: string, units: number): Promise<number> {
    const s = this.step(tenantId, userId, units);
    if (!s) return 0;
    return this.answer(await this.limiter.consume(s.key, s.n, s.limit, s.windowMs));
  }

  /** The charge as a step of RateLimiter.consumeInOrder (null when the budget is off). */
  step(tenantId: TenantId, userId: string, units: number): WindowStep | null {
    if (this.budget <= 0) return null;
    // A request dearer than the whole budget could never pass: it takes the whole window instead.
    const n = Math.min(Math.max(1, Math.ceil(units)), this.budget);
    return { key: this.redis.key('rt', 't', tenantId, 'work', userId), kind: 'window', n, limit: this.budget, windowMs: this.windowMs };
  }

  /** The wait a charge's result means: 0 when allowed. */
  answer(r: WindowResult): number {
    return r.allowed ? 0 : Math.max(1, r.resetMs);
  }
}
