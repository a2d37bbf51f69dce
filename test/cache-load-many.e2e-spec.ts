import { randomBytes } from 'node:crypto';
import { CacheService } from '@chat/cache';
import { RedisService } from '@chat/redis';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { createTestApp, TestApp } from './support/test-app';

/**
 * CacheService.getOrLoadMany on real Redis: concurrent misses of the same keys are loaded once (a burst
 * of sends to one cold group reads its members' device keys once), and a caller after an invalidation
 * never joins a load that started before it.
 */
describe('CacheService.getOrLoadMany (real Redis)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  const inTenant = <T>(fn: () => Promise<T>) => TenantContext.run({ tenantId: asTenantId(`t${randomBytes(6).toString('hex')}`) }, fn);

  it('concurrent misses of the same keys run one load; each caller gets the values in its own order', async () => {
    const cache = t.app.get(CacheService);
    await inTenant(async () => {
      const calls: string[][] = [];
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const load = (keys: string[]) => async (missing: number[]) => {
        calls.push(missing.map((i) => keys[i]!));
        await gate;
        return missing.map((i) => ({ v: keys[i] }));
      };
      const a = ['k1', 'k2', 'k3'];
      const b = ['k3', 'k2', 'k1', 'k4'];
      const first = cache.getOrLoadMany(a.map((k) => ['many', k]), 60, load(a));
      // The second call starts once the first one's load is running (its keys are in flight).
      while (!calls.length) await new Promise<void>((r) => setImmediate(r));
      const second = cache.getOrLoadMany(b.map((k) => ['many', k]), 60, load(b));
      while (calls.length < 2) await new Promise<void>((r) => setImmediate(r));
      release();
      expect(await first).toEqual([{ v: 'k1' }, { v: 'k2' }, { v: 'k3' }]);
      expect(await second).toEqual([{ v: 'k3' }, { v: 'k2' }, { v: 'k1' }, { v: 'k4' }]);
      // k1..k3 were read once (by the first call); the second loaded only k4.
      expect(calls).toEqual([['k1', 'k2', 'k3'], ['k4']]);
      // And they are cached now.
      expect(await cache.getOrLoadMany(b.map((k) => ['many', k]), 60, async () => Promise.reject(new Error('should hit')))).toEqual([{ v: 'k3' }, { v: 'k2' }, { v: 'k1' }, { v: 'k4' }]);
    });
  }, 60_000);

  it('a caller after an invalidation does not join a load that started before it', async () => {
    const cache = t.app.get(CacheService);
    await inTenant(async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let started = false;
      const old = cache.getOrLoadMany([['inv', 'x']], 60, async () => {
        started = true;
        await gate;
        return ['old'];
      });
      while (!started) await new Promise<void>((r) => setImmediate(r));
      await cache.del(['inv', 'x']);
      const fresh = await cache.getOrLoadMany([['inv', 'x']], 60, async () => ['new']);
      release();
      expect(fresh).toEqual(['new']);
      expect(await old).toEqual(['old']);
      // The old load's value was not stored over the invalidation.
      expect(await cache.getOrLoadMany([['inv', 'x']], 60, async () => ['reloaded'])).toEqual(['new']);
    });
  }, 60_000);
  it('reads started in the same tick go to Redis as one MGET, each caller getting its own values', async () => {
    const cache = t.app.get(CacheService);
    const mget = jest.spyOn(t.app.get(RedisService).client!, 'mget');
    try {
      await inTenant(async () => {
        await cache.getOrLoad(['tick', 'a'], 60, async () => 'A');
        await cache.getOrLoadMany([['tick', 'b'], ['tick', 'c']], 60, async () => ['B', 'C']);
        mget.mockClear();
        // Side by side, as a socket event's access check reads the user and the ban.
        const [a, many, missing] = await Promise.all([
          cache.getOrLoad(['tick', 'a'], 60, async () => 'not A'),
          cache.getOrLoadMany([['tick', 'c'], ['tick', 'b']], 60, async () => ['not C', 'not B']),
          cache.getOrLoad(['tick', 'd'], 60, async () => 'D'),
        ]);
        expect([a, many, missing]).toEqual(['A', ['C', 'B'], 'D']);
        expect(mget).toHaveBeenCalledTimes(1);
        // One after the other: one MGET each.
        mget.mockClear();
        expect(await cache.getOrLoad(['tick', 'a'], 60, async () => 'not A')).toBe('A');
        expect(await cache.getOrLoad(['tick', 'd'], 60, async () => 'not D')).toBe('D');
        expect(mget).toHaveBeenCalledTimes(2);
      });
    } finally {
      mget.mockRestore();
    }
  });
});
