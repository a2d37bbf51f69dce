import { TtlCache } from './ttl-cache';

describe('TtlCache', () => {
  it('loads once for concurrent callers and serves hits until the TTL passes', async () => {
    // Entries expire by Date.now(): fake timers make the TTL pass only when the test says so.
    jest.useFakeTimers({ now: Date.now() });
    try {
      const cache = new TtlCache<number>(40);
      let loads = 0;
      const load = async () => ++loads;
      expect(await Promise.all([cache.get('k', load), cache.get('k', load)])).toEqual([1, 1]);
      expect(await cache.get('k', load)).toBe(1);
      jest.advanceTimersByTime(39);
      expect(await cache.get('k', load)).toBe(1);
      jest.advanceTimersByTime(1);
      expect(await cache.get('k', load)).toBe(2);
    } finally {
      jest.useRealTimers();
    }
  });

  it('does not keep a value loaded across an invalidation', async () => {
    const cache = new TtlCache<string>(10_000);
    let release!: (v: string) => void;
    const pending = cache.get('k', () => new Promise<string>((r) => (release = r)));
    cache.delete('k');
    release('stale');
    expect(await pending).toBe('stale');
    expect(await cache.get('k', async () => 'fresh')).toBe('fresh');
  });

  it('drops matching entries and stays within its size bound', async () => {
    const cache = new TtlCache<{ t: string }>(10_000, 2);
    await cache.get('a', async () => ({ t: 'x' }));
    await cache.get('b', async () => ({ t: 'y' }));
    await cache.get('c', async () => ({ t: 'x' }));
    cache.deleteWhere((v) => v.t === 'x');
    let reloaded = 0;
    await cache.get('b', async () => (reloaded++, { t: 'y' }));
    await cache.get('c', async () => (reloaded++, { t: 'x' }));
    expect(reloaded).toBe(1);
  });
});
