/* The socket event gate's one Redis round trip (EventCharges over RateLimiter.consumeInOrder) on the
 * real Redis: the steps run in order and stop at the first refusal, so a refused step and the ones
 * after it take nothing (as when they were separate calls); a refund gives back what was taken; with
 * Redis failing, each step keeps its own fallback. Time comes from the limiter's clock seam. */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { CacheService } from '@chat/cache';
import type { AppConfig } from '@chat/config';
import { RateLimiter, WindowStep } from '@chat/quotas';
import { EventCharges, TenantEventLimiter, UserWorkBudget } from '@chat/realtime';
import { RedisService } from '@chat/redis';
import { asTenantId, TenantContext } from '@chat/tenancy';

describe('EventCharges (real Redis)', () => {
  const clients: Redis[] = [];
  const prefix = `${process.env.REDIS_KEY_PREFIX ?? ''}charges-test:${randomBytes(4).toString('hex')}:`;
  const service = (client: Redis): RedisService => ({ mode: 'redis', client, key: (...p: Array<string | number>) => prefix + p.join(':'), writeTogether: () => undefined }) as unknown as RedisService;
  const connect = () => {
    const c = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    clients.push(c);
    return c;
  };
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
  });

  /**
   * A gate on the real Redis: `perSecond` events per tenant, `budget` work units per user, `msgLimit`
   * messages per window. The message window is a minute: Redis expires it in real time, and a window of a
   * second ran out between two steps of a test on a loaded machine (the count read back was null).
   */
  function gate(perSecond: number, budget: number, msgLimit: number, now = () => 5_000) {
    const redis = service(connect());
    const limiter = new RateLimiter(redis);
    const messageStep = async (tenantId: string, n = 1): Promise<WindowStep> => ({ key: redis.key('q', tenantId, 'msg'), kind: 'window', n, limit: msgLimit, windowMs: 60_000 });
    const charges = new EventCharges(limiter, new TenantEventLimiter(redis, perSecond, now), new UserWorkBudget(limiter, redis, budget, 60_000), { messageStep });
    return { charges, limiter, redis, client: redis.client! };
  }

  it('one script per event: tenant count, work budget, message quota; a refused step and the steps after it take nothing', async () => {
    const { charges, client, redis } = gate(3, 5, 2);
    const tenantId = asTenantId(`t${randomBytes(3).toString('hex')}`);
    const send = (units = 1) => charges.take({ tenantId, userId: 'u', units, message: true });

    const first = await send();
    expect(first).toMatchObject({ tenantWait: 0, workWait: 0, message: { result: { allowed: true, count: 1 } } });
    // Work refused (4 more units do not fit in 5): the message quota is not reached, so not taken.
    const dear = await send(5);
    expect(dear.workWait).toBeGreaterThan(0);
    expect(dear.message).toBeNull();
    expect(await client.get(redis.key('q', tenantId, 'msg'))).toBe('1');
    expect(await client.get(redis.key('rt', 't', tenantId, 'work', 'u'))).toBe('1');
    // Third event of the second: allowed; the fourth is over the tenant's 3 and charges nothing else.
    const third = await send();
    expect(third).toMatchObject({ tenantWait: 0, workWait: 0, message: { result: { allowed: true, count: 2 } } });
    const fourth = await send();
    expect(fourth.tenantWait).toBe(1000);
    expect(fourth.message).toBeNull();
    expect(await client.get(redis.key('rt', 't', tenantId, 'work', 'u'))).toBe('2');
    expect(await client.get(redis.key('q', tenantId, 'msg'))).toBe('2');
    expect(await client.pttl(redis.key('rt', 't', tenantId, 'events', 5))).toBeGreaterThan(0);
  });

  it('a refused message quota is answered, not taken; a refund gives back the work and message units', async () => {
    const { charges, client, redis } = gate(100, 10, 1);
    const tenantId = asTenantId(`t${randomBytes(3).toString('hex')}`);
    const ok = await charges.take({ tenantId, userId: 'u', units: 1, message: true });
    const over = await charges.take({ tenantId, userId: 'u', units: 1, message: true });
    expect(over.message?.result).toMatchObject({ allowed: false, count: 1 });
    expect(over.message!.result.resetMs).toBeGreaterThan(0);
    expect(await client.get(redis.key('q', tenantId, 'msg'))).toBe('1');
    expect(await client.get(redis.key('rt', 't', tenantId, 'work', 'u'))).toBe('2');
    await ok.refund();
    await over.refund(); // gives back its work unit only: its message was not taken
    expect(await client.get(redis.key('q', tenantId, 'msg'))).toBe('0');
    expect(await client.get(redis.key('rt', 't', tenantId, 'work', 'u'))).toBe('0');
  });

  it("a send's claim rides last in the same script: taken once for its TTL, only when the message quota allowed the send, never a refusal", async () => {
    const { charges, client, redis } = gate(100, 10, 2);
    const tenantId = asTenantId(`t${randomBytes(3).toString('hex')}`);
    const claim = (id: string) => ({ key: redis.key('send', tenantId, id), ttlMs: 60_000 });
    const first = await charges.take({ tenantId, userId: 'u', units: 1, message: true, claim: claim('m1') });
    expect(first).toMatchObject({ tenantWait: 0, workWait: 0, claimed: true, message: { result: { allowed: true, count: 1 } } });
    expect(await client.pttl(redis.key('send', tenantId, 'm1'))).toBeGreaterThan(50_000);
    // The same id again (a retry): the claim is lost, the send is still allowed.
    const retry = await charges.take({ tenantId, userId: 'u', units: 1, message: true, claim: claim('m1') });
    expect(retry).toMatchObject({ tenantWait: 0, workWait: 0, claimed: false, message: { result: { allowed: true, count: 2 } } });
    // The message quota refuses: the claim is not made.
    const over = await charges.take({ tenantId, userId: 'u', units: 1, message: true, claim: claim('m2') });
    expect(over).toMatchObject({ claimed: null, message: { result: { allowed: false } } });
    expect(await client.exists(redis.key('send', tenantId, 'm2'))).toBe(0);
    // Not a send, or no claim asked: none made.
    expect((await charges.take({ tenantId, userId: 'u', units: 1, message: false, claim: claim('m3') })).claimed).toBeNull();
    expect(await client.exists(redis.key('send', tenantId, 'm3'))).toBe(0);
  });

  it('an invalid payload (0 units) is counted for the tenant only', async () => {
    const { charges, client, redis } = gate(100, 10, 10);
    const tenantId = asTenantId(`t${randomBytes(3).toString('hex')}`);
    expect(await charges.take({ tenantId, userId: 'u', units: 0, message: true })).toMatchObject({ tenantWait: 0, workWait: 0, message: null });
    expect(await client.get(redis.key('rt', 't', tenantId, 'events', 5))).toBe('1');
    expect(await client.exists(redis.key('rt', 't', tenantId, 'work', 'u'), redis.key('q', tenantId, 'msg'))).toBe(0);
  });

  it('with Redis failing: the tenant is counted in process, work fails open, the message is left to the send', async () => {
    const down = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    const redis = service(down);
    const limiter = new RateLimiter(redis);
    const messageStep = async (tenantId: string): Promise<WindowStep> => ({ key: redis.key('q', tenantId, 'msg'), kind: 'window', n: 1, limit: 1, windowMs: 1000 });
    const charges = new EventCharges(limiter, new TenantEventLimiter(redis, 2, () => 5_000), new UserWorkBudget(limiter, redis, 1, 60_000), { messageStep });
    const tenantId = asTenantId('t-down');
    const got = [];
    for (let i = 0; i < 3; i++) got.push(await charges.take({ tenantId, userId: 'u', units: 1, message: true }));
    expect(got.map((c) => [c.tenantWait, c.workWait, c.message])).toEqual([
      [0, 0, null],
      [0, 0, null],
      [1000, 0, null],
    ]);
    await expect(got[0].refund()).resolves.toBeUndefined();
    down.disconnect();
  });

  it("the script and the access check's cache read, issued side by side, leave in one write (RedisService.writeTogether)", async () => {
    const config = { REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', REDIS_KEY_PREFIX: prefix, CACHE_TTL_SECONDS: 60 } as unknown as AppConfig;
    const redis = await RedisService.create(config);
    try {
      const cache = new CacheService(redis, config);
      const limiter = new RateLimiter(redis);
      const messageStep = async (tenantId: string): Promise<WindowStep> => ({ key: redis.key('q', tenantId, 'msg'), kind: 'window', n: 1, limit: 100, windowMs: 1000 });
      const charges = new EventCharges(limiter, new TenantEventLimiter(redis, 100), new UserWorkBudget(limiter, redis, 100, 60_000), { messageStep });
      const tenantId = asTenantId(`t${randomBytes(3).toString('hex')}`);
      const event = () =>
        Promise.all([
          charges.take({ tenantId, userId: 'u', units: 1, message: true }),
          TenantContext.run({ tenantId }, () => cache.getOrLoad(['user', 'u'], 60, async () => ({ id: 'u', deactivated: false }))),
        ]);
      await event(); // the user is cached, the script loaded on this connection
      // Both commands go through the socket, corked: one writev when it is uncorked.
      const stream = redis.client!.stream as unknown as { _writev: (...a: unknown[]) => void; _write: (...a: unknown[]) => void };
      const writev = jest.spyOn(stream, '_writev');
      const write = jest.spyOn(stream, '_write');
      const [charge, user] = await event();
      expect([writev.mock.calls.length, write.mock.calls.length]).toEqual([1, 0]);
      writev.mockRestore();
      write.mockRestore();
      expect(charge).toMatchObject({ tenantWait: 0, workWait: 0, message: { result: { allowed: true, count: 2 } } });
      expect(user).toEqual({ id: 'u', deactivated: false });
    } finally {
      await redis.onApplicationShutdown();
    }
  });
});
