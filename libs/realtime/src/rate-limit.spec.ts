import { RateLimiter } from '@chat/quotas';
import type { RedisService } from '@chat/redis';
import { asTenantId } from '@chat/tenancy';
import { TenantEventLimiter, TokenBucket, UserWorkBudget } from './rate-limit';

describe('TokenBucket', () => {
  it('allows a burst, then the sustained rate', () => {
    let now = 0;
    const b = new TokenBucket(10, 3, () => now);
    expect([b.take(), b.take(), b.take()]).toEqual([0, 0, 0]);
    expect(b.take()).toBe(100);
    now += 100;
    expect(b.take()).toBe(0);
    expect(b.take()).toBeGreaterThan(0);
    now += 10_000;
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([0, 0, 0, 100]);
  });
});

describe('TenantEventLimiter (in-process mode)', () => {
  const memory = { mode: 'memory', client: null } as unknown as RedisService;
  it('counts per tenant per second', async () => {
    let now = 5_000;
    const l = new TenantEventLimiter(memory, 2, () => now);
    const a = asTenantId('a');
    const b = asTenantId('b');
    expect(await l.take(a)).toBe(0);
    expect(await l.take(a)).toBe(0);
    now += 250;
    expect(await l.take(a)).toBe(750);
    expect(await l.take(b)).toBe(0);
    now += 750;
    expect(await l.take(a)).toBe(0);
  });
  it('is off with a zero budget', async () => {
    const l = new TenantEventLimiter(memory, 0);
    for (let i = 0; i < 5; i++) expect(await l.take(asTenantId('a'))).toBe(0);
  });
});

describe('TenantEventLimiter (Redis failing)', () => {
  it('counts in process instead of failing the event', async () => {
    const unavailable = Object.assign(new Error('Reached the max retries per request limit (which is 2).'), { name: 'MaxRetriesPerRequestError' });
    const multi = { incr: () => multi, pexpire: () => multi, exec: () => Promise.reject(unavailable) };
    const failing = { mode: 'redis', client: { multi: () => multi }, key: (...p: unknown[]) => p.join(':') } as unknown as RedisService;
    const now = 5_000;
    const l = new TenantEventLimiter(failing, 2, () => now);
    const a = asTenantId('a');
    expect([await l.take(a), await l.take(a), await l.take(a)]).toEqual([0, 0, 1000]);
  });
});

describe('UserWorkBudget (in-process mode)', () => {
  const memory = { mode: 'memory', client: null, key: (...p: Array<string | number>) => p.join(':') } as unknown as RedisService;
  const a = asTenantId('a');
  it('charges work units per user; a refused charge costs nothing; users and tenants are apart', async () => {
    const w = new UserWorkBudget(new RateLimiter(memory), memory, 10, 60_000);
    expect(await w.take(a, 'u1', 6)).toBe(0);
    expect(await w.take(a, 'u1', 6)).toBeGreaterThan(0);
    expect(await w.take(a, 'u1', 4)).toBe(0);
    expect(await w.take(a, 'u1', 1)).toBeGreaterThan(0);
    expect(await w.take(a, 'u2', 10)).toBe(0);
    expect(await w.take(asTenantId('b'), 'u1', 10)).toBe(0);
  });
  it('a request dearer than the whole budget takes the whole window instead of never passing', async () => {
    const w = new UserWorkBudget(new RateLimiter(memory), memory, 10, 60_000);
    expect(await w.take(a, 'big', 100)).toBe(0);
    expect(await w.take(a, 'big', 1)).toBeGreaterThan(0);
  });
  it('is off with a zero budget', async () => {
    const w = new UserWorkBudget(new RateLimiter(memory), memory, 0, 60_000);
    for (let i = 0; i < 5; i++) expect(await w.take(a, 'u', 1000)).toBe(0);
  });
});
