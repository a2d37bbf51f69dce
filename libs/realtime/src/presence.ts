import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisService } from '@chat/redis';
import { TenantId } from '@chat/tenancy';

export type PresenceState = 'online' | 'offline';

export interface PresenceChange {
  tenantId: TenantId;
  userId: string;
  status: PresenceState;
  /** ISO time the user went offline (offline changes only). */
  last_seen?: string;
}

export interface PresenceStatus {
  user_id: string;
  status: PresenceState;
  last_seen: string | null;
}

export interface PresenceOptions {
  /** A node whose heartbeat key is older than this is considered dead and its connections expire. */
  nodeTtlMs: number;
  nodeId?: string;
  now?: () => number;
}

/** How long a user's presence record (and so `last_seen`) is kept after the last change. */
const USER_KEY_TTL_SECONDS = 30 * 24 * 3600;

// Marks this node as holding sockets of the user. Returns {added, nodes holding the user}.
const UP = `
local added = redis.call('HSET', KEYS[1], ARGV[1], '1')
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
local f = redis.call('HKEYS', KEYS[1])
local n = 0
for i = 1, #f do if string.sub(f[i], 1, 2) == 'n:' then n = n + 1 end end
return {added, n}`;

// Removes a node from the user (own disconnect, or a dead node being swept). Returns {removed, nodes left}.
const DOWN = `
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[2])
local f = redis.call('HKEYS', KEYS[1])
local n = 0
for i = 1, #f do if string.sub(f[i], 1, 2) == 'n:' then n = n + 1 end end
if removed == 1 and n == 0 then
  redis.call('HSET', KEYS[1], 'last_seen', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
return {removed, n}`;

/**
 * Who is online, right across gateway nodes. A user is online while any of their sockets on any node is
 * connected. Each node counts its own sockets per user in process and writes to Redis only when that
 * count goes 0 -> 1 or 1 -> 0: the user's hash holds one field per node (`n:<nodeId>`). Each node keeps a
 * heartbeat key with a TTL and a set of the users it holds; when a node's heartbeat key expires (crash,
 * partition) another node sweeps its fields away and reports the users who went offline. With Redis in
 * in-process mode the same class tracks a single node in memory.
 */
export class PresenceTracker {
  readonly nodeId: string;
  private readonly logger = new Logger('Presence');
  private readonly listeners = new Set<(c: PresenceChange) => void>();
  /** Sockets per `${tenant}:${user}` on this node. */
  private readonly sockets = new Map<string, number>();
  /** Users this node has written to Redis (or, in memory mode, reported online). */
  private readonly applied = new Set<string>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly lastSeen = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly client: Redis | null;

  constructor(
    private readonly redis: RedisService,
    private readonly opts: PresenceOptions,
  ) {
    this.nodeId = opts.nodeId ?? randomBytes(8).toString('hex');
    this.now = opts.now ?? Date.now;
    this.client = redis.mode === 'redis' ? redis.client : null;
  }

  onChange(listener: (c: PresenceChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    if (!this.client) return;
    await this.heartbeat();
    this.timer = setInterval(() => {
      void this.heartbeat()
        .then(() => this.sweep())
        .catch((err: Error) => this.logger.warn(`presence heartbeat/sweep failed: ${err.message}`));
    }, Math.max(50, Math.floor(this.opts.nodeTtlMs / 3)));
    this.timer.unref();
  }

  /**
   * Stops the heartbeat. `clean` (graceful shutdown) also withdraws this node's users; without it the
   * node just goes silent, like a crash, and the others expire its connections after the TTL.
   */
  async stop(opts: { clean: boolean } = { clean: true }): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!opts.clean) return;
    this.sockets.clear();
    await Promise.allSettled([...this.applied].map((k) => this.enqueue(k)));
    if (this.client) {
      // Redis down at shutdown: the others sweep this node once its heartbeat key expires.
      await this.client
        .multi()
        .del(this.aliveKey(this.nodeId))
        .srem(this.nodesKey(), this.nodeId)
        .del(this.usersKey(this.nodeId))
        .exec()
        .catch((err: Error) => this.logger.warn(`presence withdrawal failed: ${err.message}`));
    }
  }

  /** A socket of the user connected on this node. */
  connect(tenantId: TenantId, userId: string): Promise<void> {
    const k = `${tenantId}:${userId}`;
    this.sockets.set(k, (this.sockets.get(k) ?? 0) + 1);
    return this.enqueue(k);
  }

  /** A socket of the user disconnected from this node. */
  disconnect(tenantId: TenantId, userId: string): Promise<void> {
    const k = `${tenantId}:${userId}`;
    const n = (this.sockets.get(k) ?? 0) - 1;
    if (n > 0) this.sockets.set(k, n);
    else this.sockets.delete(k);
    return this.enqueue(k);
  }

  async statuses(tenantId: TenantId, userIds: readonly string[]): Promise<PresenceStatus[]> {
    if (!this.client) {
      return userIds.map((u) => {
        const k = `${tenantId}:${u}`;
        return { user_id: u, status: this.applied.has(k) ? 'online' : 'offline', last_seen: this.applied.has(k) ? null : (this.lastSeen.get(k) ?? null) };
      });
    }
    const p = this.client.pipeline();
    for (const u of userIds) p.hgetall(this.userKey(tenantId, u));
    const res = (await p.exec()) ?? [];
    // A pipeline reports a lost connection per command: unknown is not "offline" (Redis down: retryable).
    const failed = res.find(([err]) => err);
    if (failed) throw failed[0];
    return userIds.map((u, i) => {
      const h = (res[i]?.[1] ?? {}) as Record<string, string>;
      const online = Object.keys(h).some((f) => f.startsWith('n:'));
      return { user_id: u, status: online ? 'online' : 'offline', last_seen: online ? null : (h.last_seen ?? null) };
    });
  }

  /** Refreshes this node's heartbeat key; if it had expired (we were swept), writes our users back. */
  async heartbeat(): Promise<void> {
    if (!this.client) return;
    const alive = this.aliveKey(this.nodeId);
    const [[, created]] = ((await this.client.multi().set(alive, '1', 'PX', this.opts.nodeTtlMs, 'NX').pexpire(alive, this.opts.nodeTtlMs).sadd(this.nodesKey(), this.nodeId).exec()) ?? [[null, null]]) as Array<[Error | null, unknown]>;
    if (created === 'OK' && this.applied.size) {
      this.logger.warn(`node ${this.nodeId} was considered dead by the others: re-registering ${this.applied.size} users`);
      for (const k of [...this.applied]) {
        this.applied.delete(k);
        void this.enqueue(k);
      }
    }
  }

  /** Expires the connections of nodes whose heartbeat stopped. Returns how many nodes were swept. */
  async sweep(): Promise<number> {
    if (!this.client) return 0;
    const client = this.client;
    const others = (await client.smembers(this.nodesKey())).filter((n) => n !== this.nodeId);
    if (!others.length) return 0;
    const p = client.pipeline();
    for (const n of others) p.exists(this.aliveKey(n));
    const alive = (await p.exec()) ?? [];
    let swept = 0;
    for (let i = 0; i < others.length; i++) {
      if (alive[i]?.[1] === 1) continue;
      const dead = others[i];
      // One sweeper per dead node.
      if ((await client.set(this.redis.key('rt', 'node', dead, 'sweep'), this.nodeId, 'PX', this.opts.nodeTtlMs, 'NX')) !== 'OK') continue;
      const lastSeen = new Date(this.now()).toISOString();
      let cursor = '0';
      do {
        const [next, members] = await client.sscan(this.usersKey(dead), cursor, 'COUNT', 200);
        cursor = next;
        for (const m of members) {
          const sep = m.indexOf(':');
          const tenantId = m.slice(0, sep) as TenantId;
          const userId = m.slice(sep + 1);
          const [removed, left] = (await client.eval(DOWN, 2, this.userKey(tenantId, userId), this.usersKey(dead), `n:${dead}`, m, lastSeen, USER_KEY_TTL_SECONDS)) as [number, number];
          if (removed === 1 && left === 0) this.emit({ tenantId, userId, status: 'offline', last_seen: lastSeen });
        }
      } while (cursor !== '0');
      await client.multi().del(this.usersKey(dead)).srem(this.nodesKey(), dead).exec();
      this.logger.warn(`swept dead gateway node ${dead}`);
      swept++;
    }
    return swept;
  }

  /** Serializes the Redis writes of one user on this node and applies the latest local state. */
  private enqueue(k: string): Promise<void> {
    const prev = this.chains.get(k) ?? Promise.resolve();
    const next = prev.then(() => this.reconcile(k)).catch((err: Error) => this.logger.warn(`presence update failed: ${err.message}`));
    this.chains.set(k, next);
    void next.then(() => {
      if (this.chains.get(k) === next) this.chains.delete(k);
    });
    return next;
  }

  private async reconcile(k: string): Promise<void> {
    const want = (this.sockets.get(k) ?? 0) > 0;
    const have = this.applied.has(k);
    if (want === have) return;
    const sep = k.indexOf(':');
    const tenantId = k.slice(0, sep) as TenantId;
    const userId = k.slice(sep + 1);
    if (want) {
      let becameOnline = true;
      if (this.client) {
        const [added, nodes] = (await this.client.eval(UP, 2, this.userKey(tenantId, userId), this.usersKey(this.nodeId), `n:${this.nodeId}`, k, USER_KEY_TTL_SECONDS)) as [number, number];
        becameOnline = added === 1 && nodes === 1;
      }
      this.applied.add(k);
      if (becameOnline) this.emit({ tenantId, userId, status: 'online' });
    } else {
      const lastSeen = new Date(this.now()).toISOString();
      let becameOffline = true;
      if (this.client) {
        const [removed, nodes] = (await this.client.eval(DOWN, 2, this.userKey(tenantId, userId), this.usersKey(this.nodeId), `n:${this.nodeId}`, k, lastSeen, USER_KEY_TTL_SECONDS)) as [number, number];
        becameOffline = removed === 1 && nodes === 0;
      } else {
        this.lastSeen.set(k, lastSeen);
      }
      this.applied.delete(k);
      if (becameOffline) this.emit({ tenantId, userId, status: 'offline', last_seen: lastSeen });
    }
  }

  private emit(c: PresenceChange): void {
    for (const l of this.listeners) {
      try {
        l(c);
      } catch (err) {
        this.logger.error(`presence listener failed: ${(err as Error).message}`);
      }
    }
  }

  private userKey(tenantId: TenantId, userId: string): string {
    return this.redis.key('rt', 't', tenantId, 'presence', userId);
  }
  private usersKey(nodeId: string): string {
    return this.redis.key('rt', 'node', nodeId, 'users');
  }
  private aliveKey(nodeId: string): string {
    return this.redis.key('rt', 'node', nodeId, 'alive');
  }
  private nodesKey(): string {
    return this.redis.key('rt', 'nodes');
  }
}
