import { AppConfig } from '@chat/config';
import type { RedisService } from '@chat/redis';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { CacheService } from './cache.service';

/** In-process mode (RedisService.mode === 'memory'); the Redis mode is covered by the integration tests. */
describe('CacheService (in-process)', () => {
  const redis = { mode: 'memory', client: null, key: (...p: Array<string | number>) => `x:${p.join(':')}` } as unknown as RedisService;
  const make = () => new CacheService(redis, Object.assign(new AppConfig(), { CACHE_TTL_SECONDS: 60 }));
  const as = <T>(tenant: string, fn: () => Promise<T>) => TenantContext.run({ tenantId: asTenantId(tenant) }, fn);

  it('loads once, then hits; counts the hit rate', async () => {
    const c = make();
    let loads = 0;
    const load = async () => ++loads;
    await as('t1', async () => {
      expect(await c.getOrLoad(['a'], 60, load)).toBe(1);
      expect(await c.getOrLoad(['a'], 60, load)).toBe(1);
      expect(await c.getOrLoad(['a'], 60, load)).toBe(1);
    });
    expect(loads).toBe(1);
    expect(c.hitRate()).toBeCloseTo(2 / 3);
  });

  it('keys are tenant-scoped and a tenant is required', async () => {
    const c = make();
    await as('t1', () => c.getOrLoad(['k'], 60, async () => 'one'));
    expect(await as('t2', () => c.getOrLoad(['k'], 60, async () => 'two'))).toBe('two');
    await expect(c.getOrLoad(['k'], 60, async () => 'none')).rejects.toThrow(/without a tenant/);
  });

  it('caches null, returns copies, expires by TTL and is invalidated by del', async () => {
    const c = make();
    await as('t1', async () => {
      expect(await c.getOrLoad(['n'], 60, async () => null)).toBeNull();
      expect(await c.getOrLoad(['n'], 60, async () => 'x')).toBeNull();
      const first = await c.getOrLoad(['o'], 60, async () => ({ list: [1] }));
      first.list.push(2);
      expect(await c.getOrLoad(['o'], 60, async () => ({ list: [9] }))).toEqual({ list: [1] });
      await c.del(['o'], ['n']);
      expect(await c.getOrLoad(['n'], 60, async () => 'x')).toBe('x');
      jest.useFakeTimers({ now: Date.now() });
      try {
        await c.getOrLoad(['ttl'], 1, async () => 'old');
        jest.setSystemTime(Date.now() + 1500);
        expect(await c.getOrLoad(['ttl'], 1, async () => 'new')).toBe('new');
      } finally {
        jest.useRealTimers();
      }
    });
  });

  it('a load that started before an invalidation is not stored', async () => {
    const c = make();
    await as('t1', async () => {
      let release!: (v: string) => void;
      const slow = c.getOrLoad(['r'], 60, () => new Promise<string>((r) => (release = r)));
      await Promise.resolve();
      await c.del(['r']);
      release('stale');
      expect(await slow).toBe('stale');
      expect(await c.getOrLoad(['r'], 60, async () => 'fresh')).toBe('fresh');
    });
  });

  it('concurrent misses of one key run the loader once; each caller gets its own copy', async () => {
    const c = make();
    await as('t1', async () => {
      let loads = 0;
      let release!: (v: { n: number }) => void;
      const loader = () => {
        loads++;
        return new Promise<{ n: number }>((r) => (release = r));
      };
      const calls = [c.getOrLoad(['burst'], 60, loader), c.getOrLoad(['burst'], 60, loader), c.getOrLoad(['burst'], 60, loader)];
      await Promise.resolve();
      release({ n: 1 });
      const values = await Promise.all(calls);
      expect(loads).toBe(1);
      expect(values).toEqual([{ n: 1 }, { n: 1 }, { n: 1 }]);
      expect(values[0]).not.toBe(values[1]);
    });
  });

  it('a caller after an invalidation never joins a load that started before it', async () => {
    const c = make();
    await as('t1', async () => {
      let release!: (v: string) => void;
      const old = c.getOrLoad(['m'], 60, () => new Promise<string>((r) => (release = r)));
      await Promise.resolve();
      await c.del(['m']);
      const fresh = c.getOrLoad(['m'], 60, async () => 'after the write');
      release('before the write');
      expect(await old).toBe('before the write');
      expect(await fresh).toBe('after the write');
    });
  });

  it('getOrLoadMany answers hits from the cache and loads all misses with one call', async () => {
    const c = make();
    await as('t1', async () => {
      await c.getOrLoad(['k', 'a'], 60, async () => 'A');
      const asked: number[][] = [];
      const got = await c.getOrLoadMany([['k', 'a'], ['k', 'b'], ['k', 'c']], 60, async (missing) => (asked.push(missing), missing.map((i) => `v${i}`)));
      expect(got).toEqual(['A', 'v1', 'v2']);
      expect(asked).toEqual([[1, 2]]);
      expect(await c.getOrLoadMany([['k', 'a'], ['k', 'b'], ['k', 'c']], 60, async () => { throw new Error('should hit'); })).toEqual(['A', 'v1', 'v2']);
      await c.del(['k', 'b']);
      expect(await c.getOrLoadMany([['k', 'a'], ['k', 'b']], 60, async (missing) => missing.map(() => 'B2'))).toEqual(['A', 'B2']);
    });
  });
  it('getOrLoadFrozen shares one frozen value while the entry is unchanged; getOrLoad callers still get their own copies', async () => {
    const c = make();
    await as('t1', async () => {
      const loaded = await c.getOrLoadFrozen(['f'], 60, async () => ({ members: ['a', 'b'] }));
      expect(Object.isFrozen(loaded.members)).toBe(true);
      const hit = await c.getOrLoadFrozen(['f'], 60, async () => ({ members: ['x'] }));
      expect(hit).toEqual({ members: ['a', 'b'] });
      expect(await c.getOrLoadFrozen(['f'], 60, async () => ({ members: ['x'] }))).toBe(hit);
      expect(() => (hit.members as string[]).push('c')).toThrow(TypeError);
      // A getOrLoad caller of the same key may change its own copy; the shared value does not move.
      const copy = await c.getOrLoad(['f'], 60, async () => ({ members: ['x'] }));
      copy.members.push('c');
      expect(await c.getOrLoadFrozen(['f'], 60, async () => ({ members: ['x'] }))).toEqual({ members: ['a', 'b'] });
      // An invalidation is seen as with getOrLoad: the next read loads, and the reads after share the new value.
      await c.del(['f']);
      const fresh = await c.getOrLoadFrozen(['f'], 60, async () => ({ members: ['a'] }));
      expect(fresh).toEqual({ members: ['a'] });
      const next = await c.getOrLoadFrozen(['f'], 60, async () => ({ members: ['x'] }));
      expect(next).toEqual({ members: ['a'] });
      expect(next).not.toBe(hit);
    });
  });

  it('getOrLoadManyFrozen: hits and loads frozen, unchanged entries shared between calls', async () => {
    const c = make();
    await as('t1', async () => {
      const keys = [['d', 'a'], ['d', 'b']];
      const first = await c.getOrLoadManyFrozen(keys, 60, async (missing) => missing.map((i) => [{ device: `${i}` }]));
      expect(first).toEqual([[{ device: '0' }], [{ device: '1' }]]);
      expect(Object.isFrozen(first[0]![0])).toBe(true);
      const shouldHit = async (): Promise<Array<Array<{ device: string }>>> => Promise.reject(new Error('should hit'));
      const second = await c.getOrLoadManyFrozen(keys, 60, shouldHit);
      const third = await c.getOrLoadManyFrozen(keys, 60, shouldHit);
      expect(third[0]).toBe(second[0]);
      expect(third[1]).toBe(second[1]);
      expect(() => ((second[0]![0] as { device: string }).device = 'x')).toThrow(TypeError);
    });
  });
});
