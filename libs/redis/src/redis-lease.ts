import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';

/** Deletes the lease only if we still hold it (a lease that expired may belong to someone else now). */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
/** Pushes the expiry out only if we still hold it. */
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/** Takes every free lease of KEYS (SET NX PX each); answers 1 or 0 per key. Taken leases are held: no all-or-nothing. */
const TAKE_FREE = `local got = {}
for i, key in ipairs(KEYS) do
  if redis.call('set', key, ARGV[1], 'PX', ARGV[2], 'NX') then got[i] = 1 else got[i] = 0 end
end
return got`;
/** RELEASE for several keys (held with one token). */
const RELEASE_MANY = `local n = 0
for _, key in ipairs(KEYS) do
  if redis.call('get', key) == ARGV[1] then n = n + redis.call('del', key) end
end
return n`;
/** EXTEND for several keys; answers how many were still held. */
const EXTEND_MANY = `local n = 0
for _, key in ipairs(KEYS) do
  if redis.call('get', key) == ARGV[1] then n = n + redis.call('pexpire', key, ARGV[2]) end
end
return n`;

type LeaseClient = Redis & {
  chatLeaseRelease(key: string, token: string): Promise<number>;
  chatLeaseExtend(key: string, token: string, ttlMs: string): Promise<number>;
  chatLeaseTakeFree(numKeys: number, ...keysThenArgs: string[]): Promise<number[]>;
  chatLeaseReleaseMany(numKeys: number, ...keysThenArgs: string[]): Promise<number>;
  chatLeaseExtendMany(numKeys: number, ...keysThenArgs: string[]): Promise<number>;
};

export interface RedisLeaseOptions {
  /** Expiry of a lease: how long a holder that died blocks the others. Extended while the holder runs. */
  ttlMs?: number;
  /** How long an acquirer waits before giving up with an error. */
  maxWaitMs?: number;
  /** Told when a holder ran past its lease (extension found it gone): its work was not exclusive. */
  onLost?: (key: string) => void;
}

export class LeaseTimeoutError extends Error {
  constructor(key: string, waitedMs: number) {
    super(`lease ${key} still held by another process after ${waitedMs} ms`);
    this.name = 'LeaseTimeoutError';
  }
}

/**
 * Mutual exclusion across processes on one Redis: a lease is `SET key token NX PX ttl`, extended while
 * its holder runs, and released by a compare-and-delete script, so a holder that died frees it at
 * the latest after ttlMs. Written here instead of using `redlock`: its only line that targets
 * ioredis 5 (v5) has been a beta since 2022 and its types reject an ioredis 5 client
 * (mike-marcacci/node-redlock#285, #301); its quorum over several Redis servers is not needed with one.
 * Waiters poll with a short, jittered back-off (callers queue in-process first, so at most one waiter
 * per process polls a key).
 */
export class RedisLeases {
  private readonly ttlMs: number;
  private readonly maxWaitMs: number;
  private readonly client: LeaseClient;
  /** Tokens only need to be unique among holders: a random prefix per instance, then a counter (no crypto call per lease). */
  private readonly tokenPrefix = randomBytes(12).toString('base64');
  private tokens = 0;

  constructor(
    client: Redis,
    private readonly opts: RedisLeaseOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 10_000;
    this.maxWaitMs = opts.maxWaitMs ?? 30_000;
    this.client = client as LeaseClient;
    // EVALSHA (ioredis falls back to EVAL once if the server lost the script): the script is not sent with every release.
    if (typeof this.client.chatLeaseRelease !== 'function') {
      this.client.defineCommand('chatLeaseRelease', { numberOfKeys: 1, lua: RELEASE });
      this.client.defineCommand('chatLeaseExtend', { numberOfKeys: 1, lua: EXTEND });
    }
    if (typeof this.client.chatLeaseTakeFree !== 'function') {
      this.client.defineCommand('chatLeaseTakeFree', { lua: TAKE_FREE });
      this.client.defineCommand('chatLeaseReleaseMany', { lua: RELEASE_MANY });
      this.client.defineCommand('chatLeaseExtendMany', { lua: EXTEND_MANY });
    }
  }

  /** Runs fn holding the lease `key` (a full Redis key, prefix included). */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const token = `${this.tokenPrefix}:${++this.tokens}`;
    await this.acquire(key, token);
    const extender = setInterval(() => {
      this.client.chatLeaseExtend(key, token, String(this.ttlMs)).then(
        (held) => {
          if (held !== 1) this.opts.onLost?.(key);
        },
        () => undefined,
      );
    }, Math.floor(this.ttlMs / 3));
    extender.unref();
    try {
      return await fn();
    } finally {
      clearInterval(extender);
      // A failed release only delays the next holder until the expiry.
      await this.client.chatLeaseRelease(key, token).catch(() => undefined);
    }
  }

  /**
   * Runs fn holding the leases of those `keys` that are free now, taken without waiting in one round
   * trip (one script) and released in one: fn gets the keys it holds (maybe none) and the caller deals
   * with the others, e.g. each through `run`, which waits. Keys are full Redis keys on one Redis
   * server (a cluster would need them in one hash slot).
   */
  async runFree<T>(keys: string[], fn: (held: string[]) => Promise<T>): Promise<T> {
    if (!keys.length) return fn([]);
    const token = `${this.tokenPrefix}:${++this.tokens}`;
    const got = await this.client.chatLeaseTakeFree(keys.length, ...keys, token, String(this.ttlMs));
    const held = keys.filter((_, i) => got[i] === 1);
    if (!held.length) return fn([]);
    const extender = setInterval(() => {
      this.client.chatLeaseExtendMany(held.length, ...held, token, String(this.ttlMs)).then(
        (n) => {
          if (n !== held.length) this.opts.onLost?.(held.join(' '));
        },
        () => undefined,
      );
    }, Math.floor(this.ttlMs / 3));
    extender.unref();
    try {
      return await fn(held);
    } finally {
      clearInterval(extender);
      await this.client.chatLeaseReleaseMany(held.length, ...held, token).catch(() => undefined);
    }
  }

  private async acquire(key: string, token: string): Promise<void> {
    const t0 = Date.now();
    let delay = 2;
    for (;;) {
      if ((await this.client.set(key, token, 'PX', this.ttlMs, 'NX')) === 'OK') return;
      const waited = Date.now() - t0;
      if (waited >= this.maxWaitMs) throw new LeaseTimeoutError(key, waited);
      await new Promise((r) => setTimeout(r, delay / 2 + Math.random() * delay));
      delay = Math.min(delay * 2, 20);
    }
  }
}
