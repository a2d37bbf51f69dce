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

/** Clients whose writes are held until the end of the tick (corkPerTick), and whether one is held now. */
const corked = new WeakMap<Redis, boolean>();

/**
 * Holds the client's writes until the microtasks of the current tick are done: its socket is corked at
 * the first command of the tick and uncorked on process.nextTick, which, scheduled from a microtask (a
 * promise continuation, where most commands are sent), runs once the microtask queue is empty; from
 * synchronous code it runs before them and holds less. Commands sent side by side by independent code
 * (a socket event's limit script and its access check's cache read; a batch's publishes, its last_message
 * leases, the reads of many sends under load) leave in one write system call instead of one each (on a
 * loaded machine each write was ~0.1-0.3 ms of the server's CPU, the send path's largest single cost),
 * in the order they were sent. Nothing else changes for them: no command waits past the current tick.
 */
function holdUntilTickEnd(client: Redis): void {
  const stream = client.stream;
  if (corked.get(client) || !stream || typeof stream.cork !== 'function') return;
  stream.cork();
  corked.set(client, true);
  process.nextTick(() => {
    corked.set(client, false);
    stream.uncork();
  });
}

/** Every command of the client goes through holdUntilTickEnd (ioredis sends pipelines and scripts through sendCommand too). */
export function corkPerTick<T extends Redis>(client: T): T {
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
    holdUntilTickEnd(client);
    return send(...args);
  }) as Redis['sendCommand'];
  return client;
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
    const client = corkPerTick(failFastOnceReady(guardReconnectCommands(new Redis(url, { maxRetriesPerRequest: 2, enableReadyCheck: true, lazyConnect: false }))));
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
    const c = corkPerTick(guardReconnectCommands(this.client.duplicate({ enableOfflineQueue: true })));
    c.on('error', (err) => RedisService.logger.warn(`Redis (dup) error: ${err.message}`));
    this.extra.push(c);
    return c;
  }

  /** Holds the shared client's writes until the end of the tick (every command already does: corkPerTick). */
  writeTogether(): void {
    if (this.client) holdUntilTickEnd(this.client);
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
