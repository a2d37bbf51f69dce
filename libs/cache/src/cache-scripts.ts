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

// Store the value only if nobody invalidated the key since the loader started (see getOrLoad).
const SET_IF_GENERATION = `
local current = redis.call('GET', KEYS[2])
if (current or '') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0`;

/**
 * SET_IF_GENERATION with a guard (CacheStoreGuard): the value is stored only if, besides the generation,
 * the hash field KEYS[3].ARGV[4] is absent or at most ARGV[5] (a value that covers what it must cover).
 */
const SET_IF_GENERATION_AND_REACHED = `
local current = redis.call('GET', KEYS[2])
if (current or '') ~= ARGV[1] then return 0 end
local mark = tonumber(redis.call('HGET', KEYS[3], ARGV[4]))
if mark and mark > tonumber(ARGV[5]) then return 0 end
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
  chatCacheSetIfGeneration(value: string, generation: string, seen: string, json: string, ttl: string): Promise<number>;
  chatCacheSetIfGenerationAndReached(value: string, generation: string, hash: string, seen: string, json: string, ttl: string, field: string, reached: string): Promise<number>;
};

/** The client with the cache's scripts defined (EVALSHA, ioredis falls back to EVAL once if the server lost a script). */
export function scripted(client: NonNullable<RedisService['client']>): CacheClient {
  const c = client as CacheClient;
  if (typeof c.chatCacheInvalidate !== 'function') {
    c.defineCommand('chatCacheInvalidate', { lua: INVALIDATE });
    c.defineCommand('chatCacheSetIfGeneration', { numberOfKeys: 2, lua: SET_IF_GENERATION });
    c.defineCommand('chatCacheSetIfGenerationAndReached', { numberOfKeys: 3, lua: SET_IF_GENERATION_AND_REACHED });
  }
  return c;
}

