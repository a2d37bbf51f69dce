import { Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge, register } from 'prom-client';
import { AppConfig } from '@chat/config';
import { promiseTry } from '@chat/errors';
import { counter } from '@chat/metrics';
import { RedisService } from '@chat/redis';
import { TenantContext } from '@chat/tenancy';
import { CacheClient, CacheDropKeys, CacheStoreGuard, GENERATION_TTL_SECONDS, scripted, storeArgs } from './cache-scripts';
import { DeepReadonly, deepFreeze, ParsedMemo } from './parsed-memo';
import { ReadBatcher } from './read-batcher';

/** One in-process entry: the JSON text (so callers never share mutable objects) and its expiry. */
interface MemoryEntry {
  json: string;
  expiresAt: number;
}

/**
 * What a read hands its caller: getOrLoad's own copy of every value, or getOrLoadFrozen's frozen values,
 * shared between callers (a hit on unchanged text is not parsed again).
 */
interface Reader {
  /** A cached entry's text; `key` is its full key. */
  parse(key: string, raw: string): unknown;
  /** What the loader returned, to the caller that ran it. */
  loaded(value: unknown): unknown;
}

const COPY: Reader = { parse: (_key, raw) => JSON.parse(raw), loaded: (value) => value };

function hitRatioGauge(read: () => number): Gauge<string> {
  const name = 'chat_cache_hit_ratio';
  const existing = register.getSingleMetric(name) as Gauge<string> | undefined;
  if (existing) return existing;
  return new Gauge({
    name,
    help: 'Cache hits / (hits + misses) since the process started',
    collect() {
      this.set(read());
    },
  });
}

/**
 * Cache-aside for hot reads (membership checks, user profiles, conversation metadata), in Redis or,
 * when RedisService runs in memory mode, in process. Keys are always tenant-scoped
 * (`<prefix>cache:<tenantId>:<parts...>`) and always carry a TTL.
 *
 * Invalidation is race-free: every key has a generation counter; `del` bumps it after the database
 * write, and a loader's result is stored only if the generation it saw before loading is unchanged.
 * So a reader that loaded the old state just before a write can never put it back after the delete.
 */
@Injectable()
export class CacheService {
  private readonly logger = new Logger('Cache');
  private readonly requests: Counter<string>;
  private hits = 0;
  private misses = 0;
  private readonly memory = new Map<string, MemoryEntry>();
  private readonly memoryGenerations = new Map<string, number>();
  /** Bumped when memoryGenerations is cleared, so a loader that started before can never store. */
  private memoryEpoch = 0;
  private readonly memoryMaxEntries = 50_000;
  /**
   * Loads in flight, by key and the generation they started under: a burst of misses on one key (a
   * cold start under load) runs the loader once. A caller that saw a newer generation (a write
   * happened since) never joins an older load, so reads after a write still see the write.
   */
  private readonly inFlight = new Map<string, Promise<unknown>>();
  /** Reads asked for in this tick, sent as one MGET. */
  private readonly reads: ReadBatcher;
  private readonly memo = new ParsedMemo();
  private readonly frozen: Reader = { parse: (key, raw) => this.memo.parse(key, raw), loaded: deepFreeze };

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {
    this.requests = counter('chat_cache_requests_total', 'Cache lookups by result', ['result']);
    hitRatioGauge(() => CacheService.ratio());
    this.reads = new ReadBatcher(redis);
    CacheService.instances.add(this);
  }

  // Several apps (and test apps) may live in one process; the gauge reports all of them together.
  private static readonly instances = new Set<CacheService>();
  private static ratio(): number {
    let h = 0;
    let m = 0;
    for (const i of CacheService.instances) {
      h += i.hits;
      m += i.misses;
    }
    return h + m === 0 ? 0 : h / (h + m);
  }

  /** Default TTL for callers that have no better idea (CACHE_TTL_SECONDS). */
  get defaultTtlSeconds(): number {
    return this.config.CACHE_TTL_SECONDS;
  }

  /** Hits / (hits + misses) of this instance since start (0 when nothing was asked yet). */
  hitRate(): number {
    return this.hits + this.misses === 0 ? 0 : this.hits / (this.hits + this.misses);
  }

  stats(): { hits: number; misses: number; hitRate: number } {
    return { hits: this.hits, misses: this.misses, hitRate: this.hitRate() };
  }

  private fullKey(key: string[]): { value: string; generation: string } {
    if (!key.length) throw new Error('cache key must not be empty');
    const tenantId = TenantContext.requireTenantId('cache');
    const value = this.redis.key('cache', tenantId, ...key);
    return { value, generation: `${value}:gen` };
  }

  private hit(): void {
    this.count(1, 0);
  }

  private miss(): void {
    this.count(0, 1);
  }

  /** Hits and misses of one call, counted together (a group send reads 50 keys at once). */
  private count(hits: number, misses: number): void {
    if (hits) {
      this.hits += hits;
      this.requests.inc({ result: 'hit' }, hits);
    }
    if (misses) {
      this.misses += misses;
      this.requests.inc({ result: 'miss' }, misses);
    }
  }

  /**
   * Returns the cached value, or runs the loader, caches what it returns (null included: a cached
   * "absent" is invalidated by the same writes) and returns it. Values must be JSON-serialisable.
   * A Redis failure degrades to calling the loader: the cache never makes a request fail.
   */
  getOrLoad<T>(key: string[], ttlSeconds: number, loader: () => Promise<T>, guard?: CacheStoreGuard<T>): Promise<T> {
    // Not an async function: a hit costs the MGET's promise and one then (the send path makes ~10 of
    // these per message, and on Node 20 every promise runs AsyncLocalStorage's hooks); what it
    // answers, and when it throws, is the same.
    return promiseTry(() => this.getOrLoadAt(this.fullKey(key), ttlSeconds, loader, guard, COPY));
  }

  /**
   * getOrLoad for read-only callers on hot paths (a send's conversation view): the value is deep-frozen
   * and shared with every other caller of the key, and a hit whose text is what this process parsed
   * last time is not parsed again (ParsedMemo). Redis is still read every time, so what it answers is
   * what getOrLoad would (the same generation rule); only writing to the value differs: it throws.
   */
  getOrLoadFrozen<T>(key: string[], ttlSeconds: number, loader: () => Promise<T>, guard?: CacheStoreGuard<T>): Promise<DeepReadonly<T>> {
    return promiseTry(() => this.getOrLoadAt(this.fullKey(key), ttlSeconds, loader, guard, this.frozen)) as Promise<DeepReadonly<T>>;
  }

  private getOrLoadAt<T>(k: { value: string; generation: string }, ttlSeconds: number, loader: () => Promise<T>, guard: CacheStoreGuard<T> | undefined, reader: Reader): Promise<T> {
    const ttl = Math.max(1, Math.floor(ttlSeconds));
    if (!this.redis.client) return this.memoryGetOrLoad(k, ttl, loader, reader);
    const readFailed = (err: unknown): Promise<T> => {
      this.logger.warn(`cache read failed, loading directly: ${(err as Error).message}`);
      this.miss();
      return loader().then((value) => reader.loaded(value) as T);
    };
    return this.reads.read(this.redis.client, [k.value, k.generation]).then(([cached, gen]) => {
      let generation: string;
      try {
        if (cached !== null) {
          this.hit();
          return reader.parse(k.value, cached) as T;
        }
        generation = gen ?? '';
      } catch (err) {
        return readFailed(err);
      }
      this.miss();
      return this.loadAndStore(k, generation, ttl, loader, guard, reader);
    }, readFailed);
  }

  /** getOrLoad's miss: one load per key and generation, stored unless invalidated meanwhile. */
  private loadAndStore<T>(k: { value: string; generation: string }, generation: string, ttl: number, loader: () => Promise<T>, guard: CacheStoreGuard<T> | undefined, reader: Reader): Promise<T> {
    const client = this.redis.client!;
    return this.singleFlight(k.value, generation, reader, async () => {
      const value = await loader();
      if (value !== undefined) {
        try {
          await scripted(client).chatCacheSetIfGeneration(...storeArgs(k, generation, value, JSON.stringify(value), ttl, guard));
        } catch (err) {
          this.logger.warn(`cache write failed: ${(err as Error).message}`);
        }
      }
      return value;
    });
  }

  /**
   * Runs `load` once for concurrent callers of the same key and generation. The leader gets the loaded
   * value; followers get a value read from its JSON taken when the load finished, like a cache hit would.
   */
  private async singleFlight<T>(key: string, generation: string, reader: Reader, load: () => Promise<T>): Promise<T> {
    const flightKey = `${key}|${generation}`;
    const joined = this.inFlight.get(flightKey) as Promise<{ value: T; json: string | undefined }> | undefined;
    if (joined) {
      const { json } = await joined;
      return (json === undefined ? undefined : reader.parse(key, json)) as T;
    }
    const flight = load().then((value) => ({ value, json: value === undefined ? undefined : JSON.stringify(value) }));
    this.inFlight.set(flightKey, flight);
    try {
      return reader.loaded((await flight).value) as T;
    } finally {
      this.inFlight.delete(flightKey);
    }
  }

  /**
   * getOrLoad for many keys at once: one Redis round trip for the values (a send checks every member's
   * keys: 50 lookups each a round trip made fan-out CPU-bound), and one `loadMissing` call for all the
   * misses, which returns their values in the order asked. Same generation rule as getOrLoad.
   */
  getOrLoadMany<T>(keys: string[][], ttlSeconds: number, loadMissing: (missing: number[]) => Promise<T[]>): Promise<T[]> {
    return this.loadMany(keys, ttlSeconds, loadMissing, COPY);
  }

  /** getOrLoadMany with getOrLoadFrozen's values: frozen, shared, not parsed again while their text is unchanged. */
  getOrLoadManyFrozen<T>(keys: string[][], ttlSeconds: number, loadMissing: (missing: number[]) => Promise<T[]>): Promise<Array<DeepReadonly<T>>> {
    return this.loadMany(keys, ttlSeconds, loadMissing, this.frozen) as Promise<Array<DeepReadonly<T>>>;
  }

  private async loadMany<T>(keys: string[][], ttlSeconds: number, loadMissing: (missing: number[]) => Promise<T[]>, reader: Reader): Promise<T[]> {
    if (!keys.length) return [];
    const ks = keys.map((key) => this.fullKey(key));
    const ttl = Math.max(1, Math.floor(ttlSeconds));
    const client = this.redis.client;
    if (!client) {
      // In process: no round trips to save; each key keeps getOrLoad's single-flight and generations.
      const out = new Array<T>(keys.length);
      const missing: number[] = [];
      const now = Date.now();
      ks.forEach((k, i) => {
        const e = this.memory.get(k.value);
        if (e && e.expiresAt > now) {
          this.hit();
          out[i] = reader.parse(k.value, e.json) as T;
        } else missing.push(i);
      });
      if (missing.length) {
        const loaded = loadMissing(missing);
        await Promise.all(missing.map((i, j) => this.memoryGetOrLoad(ks[i]!, ttl, async () => (await loaded)[j]!, reader).then((v) => (out[i] = v))));
      }
      return out;
    }
    let raw: Array<string | null>;
    try {
      const both: string[] = [];
      for (const k of ks) both.push(k.value, k.generation);
      raw = await this.reads.read(client, both);
    } catch (err) {
      this.logger.warn(`cache read failed, loading directly: ${(err as Error).message}`);
      this.count(0, ks.length);
      return (await loadMissing(ks.map((_, i) => i))).map((value) => reader.loaded(value) as T);
    }
    const out = new Array<T>(keys.length);
    const missing: number[] = [];
    for (let i = 0; i < ks.length; i++) {
      const cached = raw[2 * i];
      if (cached !== null && cached !== undefined) out[i] = reader.parse(ks[i]!.value, cached) as T;
      else missing.push(i);
    }
    // Counted once per call, not per key (a group send reads 50): the same totals.
    this.count(ks.length - missing.length, missing.length);
    if (!missing.length) return out;
    // Single-flight per key, as getOrLoad: a miss already being loaded by a concurrent call (for the
    // same generation) is joined, not loaded again, so a burst of sends to one cold group costs one read.
    const flightKey = (i: number) => `${ks[i]!.value}|${raw[2 * i + 1] ?? ''}`;
    const joined: Array<[number, Promise<{ value: T; json: string | undefined }>]> = [];
    const own: number[] = [];
    for (const i of missing) {
      const flight = this.inFlight.get(flightKey(i)) as Promise<{ value: T; json: string | undefined }> | undefined;
      if (flight) joined.push([i, flight]);
      else own.push(i);
    }
    if (own.length) {
      const load = this.loadAndStoreMany(own, ks, raw, ttl, loadMissing, client);
      own.forEach((i, j) => {
        const key = flightKey(i);
        const flight = load.then((values) => ({ value: values[j]!, json: values[j] === undefined ? undefined : JSON.stringify(values[j]) }));
        this.inFlight.set(key, flight);
        void flight
          .finally(() => {
            if (this.inFlight.get(key) === flight) this.inFlight.delete(key);
          })
          .catch(() => undefined);
      });
      const values = await load;
      own.forEach((i, j) => (out[i] = reader.loaded(values[j]) as T));
    }
    for (const [i, flight] of joined) {
      const { json } = await flight;
      out[i] = (json === undefined ? undefined : reader.parse(ks[i]!.value, json)) as T;
    }
    return out;
  }

  /** getOrLoadMany's loader for the keys this call loads itself, then their cache writes (generation rule). */
  private async loadAndStoreMany<T>(
    own: number[],
    ks: Array<{ value: string; generation: string }>,
    raw: Array<string | null>,
    ttl: number,
    loadMissing: (missing: number[]) => Promise<T[]>,
    client: NonNullable<RedisService['client']>,
  ): Promise<T[]> {
    const values = await loadMissing(own);
    const pipeline = scripted(client).pipeline() as ReturnType<CacheClient['pipeline']> & { chatCacheSetIfGeneration(...args: string[]): unknown };
    own.forEach((i, j) => {
      if (values[j] !== undefined) pipeline.chatCacheSetIfGeneration(...storeArgs(ks[i]!, raw[2 * i + 1] ?? '', values[j], JSON.stringify(values[j]), ttl));
    });
    try {
      await pipeline.exec();
    } catch (err) {
      this.logger.warn(`cache write failed: ${(err as Error).message}`);
    }
    return values;
  }

  /**
   * The Redis keys of an entry (this request's tenant), for a script that drops it as `del` does (see
   * CacheDropKeys); null without Redis (in process: call `del`).
   */
  dropKeys(key: string[]): CacheDropKeys | null {
    return this.redis.client ? this.fullKey(key) : null;
  }

  /** Invalidates keys after a write. Call it after the database write is acknowledged. */
  async del(...keys: string[][]): Promise<void> {
    if (!keys.length) return;
    const full = keys.map((key) => this.fullKey(key));
    if (!this.redis.client) {
      if (this.memoryGenerations.size > this.memoryMaxEntries) {
        this.memoryGenerations.clear();
        this.memoryEpoch++;
      }
      for (const k of full) {
        this.memory.delete(k.value);
        this.memoryGenerations.set(k.generation, (this.memoryGenerations.get(k.generation) ?? 0) + 1);
      }
      return;
    }
    try {
      await scripted(this.redis.client).chatCacheInvalidate(full.length * 2, ...full.flatMap((k) => [k.value, k.generation]), String(GENERATION_TTL_SECONDS));
    } catch (err) {
      // The write already happened; the TTL bounds how long a stale entry can live.
      this.logger.error(`cache invalidation failed (stale for at most the TTL): ${(err as Error).message}`);
    }
  }

  private async memoryGetOrLoad<T>(k: { value: string; generation: string }, ttl: number, loader: () => Promise<T>, reader: Reader): Promise<T> {
    const now = Date.now();
    const entry = this.memory.get(k.value);
    if (entry && entry.expiresAt > now) {
      this.hit();
      return reader.parse(k.value, entry.json) as T;
    }
    if (entry) this.memory.delete(k.value);
    this.miss();
    const generationOf = () => `${this.memoryEpoch}:${this.memoryGenerations.get(k.generation) ?? 0}`;
    const generation = generationOf();
    return this.singleFlight(k.value, generation, reader, async () => {
      const value = await loader();
      if (value !== undefined && generationOf() === generation) {
        if (this.memory.size >= this.memoryMaxEntries) this.evictMemory();
        this.memory.set(k.value, { json: JSON.stringify(value), expiresAt: Date.now() + ttl * 1000 });
      }
      return value;
    });
  }

  /** Drops expired entries, then the oldest inserted ones, to stay under the bound. */
  private evictMemory(): void {
    const now = Date.now();
    for (const [key, e] of this.memory) if (e.expiresAt <= now) this.memory.delete(key);
    const excess = this.memory.size - Math.floor(this.memoryMaxEntries * 0.9);
    if (excess <= 0) return;
    let n = 0;
    for (const key of this.memory.keys()) {
      if (n++ >= excess) break;
      this.memory.delete(key);
    }
  }
}
