import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '@chat/config';
import { failFastOnceReady, guardReconnectCommands } from './reconnect-guard';

export type RedisMode = 'redis' | 'memory';

/** Tries a Redis URL once, quickly: used to choose between Redis and in-process state at start. */
export async function probeRedis(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * The shared Redis connection, or none. With REDIS_URL unset it tries 127.0.0.1:6379 and falls back to
 * in-process state (single node only) when nothing answers; REDIS_URL=none forces in-process. It logs
 * which it chose. Every key goes through key(), which applies the configured namespace.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private static readonly logger = new Logger('Redis');
  private readonly extra: Redis[] = [];
  private corked = false;

  private constructor(
    readonly mode: RedisMode,
    readonly client: Redis | null,
    readonly url: string | null,
    private readonly prefix: string,
  ) {}

  static async create(config: AppConfig): Promise<RedisService> {
    const prefix = config.REDIS_KEY_PREFIX;
    if (config.REDIS_URL === 'none') {
      this.logger.log('REDIS_URL=none: using in-process adapter, rate limits and cache (single node only)');
      return new RedisService('memory', null, null, prefix);
    }
    let url = config.REDIS_URL;
    if (!url) {
      const local = 'redis://127.0.0.1:6379';
      if (await probeRedis(local)) {
        url = local;
        this.logger.log(`REDIS_URL not set: found Redis at ${local}, using it`);
      } else {
        this.logger.warn('REDIS_URL not set and no Redis answers on 127.0.0.1:6379: using in-process adapter, rate limits and cache (single node only)');
        return new RedisService('memory', null, null, prefix);
      }
    }
    const client = failFastOnceReady(guardReconnectCommands(new Redis(url, { maxRetriesPerRequest: 2, enableReadyCheck: true, lazyConnect: false })));
    client.on('error', (err) => this.logger.warn(`Redis error: ${err.message}`));
    this.logger.log(`Using Redis at ${url.replace(/\/\/[^@]*@/, '//***@')}`);
    return new RedisService('redis', client, url, prefix);
  }

  /** Namespaced key: prefix + parts joined by ':'. Tenant-owned keys must include the tenant id. */
  key(...parts: Array<string | number>): string {
    return this.prefix + parts.join(':');
  }

  /**
   * A new connection with the same settings (pub/sub needs its own), its offline queue on (the shared
   * client turns its own off once ready). Closed on shutdown.
   */
  duplicate(): Redis {
    if (!this.client) throw new Error('Redis is not configured');
    const c = guardReconnectCommands(this.client.duplicate({ enableOfflineQueue: true }));
    c.on('error', (err) => RedisService.logger.warn(`Redis (dup) error: ${err.message}`));
    this.extra.push(c);
    return c;
  }

  /**
   * Holds the shared client's writes until the microtasks of the current tick are done: the socket is
   * corked and uncorked on process.nextTick, which, scheduled from a microtask (both callers run in
   * one: a promise continuation or queueMicrotask), runs once the microtask queue is empty; from
   * synchronous code it would run before them and hold less. Commands sent side by side by
   * independent code (a socket event's limit script and its access check's cache read, or many
   * sends' reads under load) leave in one write system call instead of one each, in the order they
   * were sent, and their answers tend to come back in one read. Nothing else changes for them.
   */
  writeTogether(): void {
    const stream = this.client?.stream;
    if (this.corked || !stream || typeof stream.cork !== 'function') return;
    stream.cork();
    this.corked = true;
    process.nextTick(() => {
      this.corked = false;
      stream.uncork();
    });
  }

  async ping(): Promise<number> {
    if (!this.client) throw new Error('Redis is not configured (in-process mode)');
    const t0 = performance.now();
    await this.client.ping();
    return performance.now() - t0;
  }

  async onApplicationShutdown(): Promise<void> {
    // QUIT cannot reach a Redis that is down (and the shared client queues nothing once ready): drop
    // the connection instead, or its reconnect timer keeps the process alive.
    await Promise.allSettled([this.client, ...this.extra].filter(Boolean).map((c) => c!.quit().catch(() => c!.disconnect())));
  }
}
