/** The cache's Redis scripts and the shapes other modules use to drop or guard an entry (CacheService). */
import { RedisService } from '@chat/redis';

/** Generations outlive any value, so a slow loader that started before an invalidation is always caught. */
export const GENERATION_TTL_SECONDS = 86_400;

/**
 * The Redis keys of one cache entry, for a script of another module that drops it in its own round trip
 * (CacheService.dropKeys): it must do what `del` does, in this order: INCR the generation, EXPIRE it
 * GENERATION_TTL_SECONDS, DEL the value.
 */
export interface CacheDropKeys {
  value: string;
  generation: string;
}

/**
 * A further condition for storing a loaded value (getOrLoad): the hash field `hashKey`.`field` is absent
 * or at most `reached(value)`. For an entry dropped before its write is done (CacheDropKeys, in the step
 * that starts the write): a loader that read the database before the write landed loaded a value below
 * the mark the step set, and does not store it.
 */
export interface CacheStoreGuard<T> {
  hashKey: string;
  field: string;
  reached: (value: T) => number;
}

/**
 * Stores the value only if nobody invalidated the key since the loader started (see getOrLoad): the
 * generation KEYS[2] is still ARGV[1]. With a guard (CacheStoreGuard; a third key, so the script is
 * called with 2 or 3 keys), also only if the hash field KEYS[3].ARGV[4] is absent or at most ARGV[5]
 * (a value that covers what it must cover).
 * KEYS value, generation[, guard hash]; ARGV seen generation, JSON, TTL (s)[, guard field, reached].
 */
const SET_IF_GENERATION = `
local current = redis.call('GET', KEYS[2])
if (current or '') ~= ARGV[1] then return 0 end
if KEYS[3] then
  local mark = tonumber(redis.call('HGET', KEYS[3], ARGV[4]))
  if mark and mark > tonumber(ARGV[5]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1`;

/**
 * Invalidates keys after a write, all of them in one atomic step: per key, bump its generation (and
 * keep it alive for GENERATION_TTL_SECONDS) then drop the value, as a MULTI of INCR, EXPIRE and DEL
 * did. One command instead of 2 + 3 per key: a send's batch drops a page per conversation it wrote.
 * KEYS value1, generation1, value2, generation2, ...; ARGV[1] the generation TTL (s).
 */
const INVALIDATE = `
for i = 1, #KEYS, 2 do
  redis.call('INCR', KEYS[i + 1])
  redis.call('EXPIRE', KEYS[i + 1], ARGV[1])
  redis.call('DEL', KEYS[i])
end
return #KEYS / 2`;

export type CacheClient = NonNullable<RedisService['client']> & {
  chatCacheInvalidate(numKeys: number, ...args: string[]): Promise<number>;
  /** `storeArgs(...)`: the number of keys, then the keys and the arguments of SET_IF_GENERATION. */
  chatCacheSetIfGeneration(...args: string[]): Promise<number>;
};

/** The client with the cache's scripts defined (EVALSHA, ioredis falls back to EVAL once if the server lost a script). */
export function scripted(client: NonNullable<RedisService['client']>): CacheClient {
  const c = client as CacheClient;
  if (typeof c.chatCacheInvalidate !== 'function') {
    c.defineCommand('chatCacheInvalidate', { lua: INVALIDATE });
    // No numberOfKeys: the caller passes it first (2, or 3 with a guard).
    c.defineCommand('chatCacheSetIfGeneration', { lua: SET_IF_GENERATION });
  }
  return c;
}

/**
 * The arguments of chatCacheSetIfGeneration for storing `value` (as `json`) in the entry `k`, loaded
 * under the generation `seen`, with the guard if one is given.
 */
export function storeArgs<T>(k: CacheDropKeys, seen: string, value: T, json: string, ttl: number, guard?: CacheStoreGuard<T>): string[] {
  const keys = guard ? [k.value, k.generation, guard.hashKey] : [k.value, k.generation];
  const args = guard ? [seen, json, String(ttl), guard.field, String(guard.reached(value))] : [seen, json, String(ttl)];
  return [String(keys.length), ...keys, ...args];
}
