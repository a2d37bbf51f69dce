import { randomBytes } from 'node:crypto';
import { AppConfig } from '@chat/config';
import { CacheService } from '@chat/cache';
import { RedisService } from '@chat/redis';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { createTestApp, TestApp } from './support/test-app';

/**
 * getOrLoadFrozen / getOrLoadManyFrozen on real Redis: hits on unchanged text share one frozen value,
 * and Redis stays the truth: a change made through another process's cache is seen by the very next read.
 */
describe('CacheService frozen reads (real Redis)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  const inTenant = <T>(fn: () => Promise<T>) => TenantContext.run({ tenantId: asTenantId(`t${randomBytes(6).toString('hex')}`) }, fn);
  /** A second CacheService on the same Redis: another node of the cluster, with its own memo. */
  const otherNode = () => new CacheService(t.app.get(RedisService), t.app.get(AppConfig));

  it('hits share one frozen value; another node invalidating and reloading is seen by the next read', async () => {
    const cache = t.app.get(CacheService);
    const other = otherNode();
    await inTenant(async () => {
      const key = ['frozen', 'view'];
      const loaded = await cache.getOrLoadFrozen(key, 60, async () => ({ members: ['a', 'b'] }));
      expect(Object.isFrozen(loaded.members)).toBe(true);
      const hit = await cache.getOrLoadFrozen(key, 60, async () => ({ members: ['not loaded'] }));
      expect(hit).toEqual({ members: ['a', 'b'] });
      expect(await cache.getOrLoadFrozen(key, 60, async () => ({ members: ['not loaded'] }))).toBe(hit);
      expect(() => (hit.members as string[]).push('c')).toThrow(TypeError);

      // The other node removes a member: its write drops the entry and its next read stores the new view.
      await other.del(key);
      expect(await other.getOrLoadFrozen(key, 60, async () => ({ members: ['a'] }))).toEqual({ members: ['a'] });
      // This node's memo still holds the old parse, but Redis answers the new text: the new view it is.
      const after = await cache.getOrLoadFrozen(key, 60, async () => ({ members: ['not loaded'] }));
      expect(after).toEqual({ members: ['a'] });
      expect(await cache.getOrLoadFrozen(key, 60, async () => ({ members: ['not loaded'] }))).toBe(after);
      // And while the entry is gone, every read loads (nothing is answered from the memo).
      await other.del(key);
      expect(await cache.getOrLoadFrozen(key, 60, async () => ({ members: [] }))).toEqual({ members: [] });
    });
  }, 60_000);

  it('getOrLoadManyFrozen: frozen values, shared between calls while their text is unchanged, fresh after a change', async () => {
    const cache = t.app.get(CacheService);
    const other = otherNode();
    await inTenant(async () => {
      const keys = [
        ['frozen-many', 'u1'],
        ['frozen-many', 'u2'],
      ];
      const first = await cache.getOrLoadManyFrozen(keys, 60, async (missing) => missing.map((i) => [{ device: `d${i}`, version: 1 }]));
      expect(first).toEqual([[{ device: 'd0', version: 1 }], [{ device: 'd1', version: 1 }]]);
      expect(Object.isFrozen(first[1]![0])).toBe(true);
      const shouldHit = async (): Promise<Array<Array<{ device: string; version: number }>>> => Promise.reject(new Error('should hit'));
      const second = await cache.getOrLoadManyFrozen(keys, 60, shouldHit);
      const third = await cache.getOrLoadManyFrozen(keys, 60, shouldHit);
      expect(third[0]).toBe(second[0]);
      expect(third[1]).toBe(second[1]);
      expect(() => ((third[0]![0] as { version: number }).version = 2)).toThrow(TypeError);

      // u2 publishes a new key version on the other node.
      await other.del(keys[1]!);
      await other.getOrLoadManyFrozen([keys[1]!], 60, async () => [[{ device: 'd1', version: 2 }]]);
      const fourth = await cache.getOrLoadManyFrozen(keys, 60, shouldHit);
      expect(fourth).toEqual([[{ device: 'd0', version: 1 }], [{ device: 'd1', version: 2 }]]);
      expect(fourth[0]).toBe(second[0]);
      // getOrLoadMany callers still get their own copies of the same entries.
      const copies = await cache.getOrLoadMany(keys, 60, shouldHit);
      expect(copies[0]).not.toBe(fourth[0]);
      copies[0]![0]!.version = 99;
      expect((await cache.getOrLoadManyFrozen(keys, 60, shouldHit))[0]).toEqual([{ device: 'd0', version: 1 }]);
    });
  }, 60_000);
});
