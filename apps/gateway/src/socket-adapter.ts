import { INestApplication, Logger } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import type { Server, ServerOptions } from 'socket.io';
import { AppConfig } from '@chat/config';
import { counter } from '@chat/metrics';
import { checkSubscriber, FIRE_AND_FORGET_BY_ADAPTER, handleRejections, RedisService } from '@chat/redis';
import { withOwnBroadcastSkip } from './own-broadcast-skip';
import { coalesceSocketWrites } from './socket-write-coalescing';

const adapterPublishFailures = counter('chat_socket_adapter_publish_failures_total', 'Redis adapter publishes (cross-node broadcasts, room changes) that failed, e.g. while Redis was down');

/**
 * socket.io through @socket.io/redis-adapter when Redis is in use, so every node sees every room;
 * the in-process adapter otherwise (single node). The subscriber is pinged on a heartbeat: a half-open
 * TCP connection would otherwise drop every cross-node message silently.
 */
export class RedisAwareIoAdapter extends IoAdapter {
  private readonly logger = new Logger('SocketAdapter');
  private heartbeat?: NodeJS.Timeout;
  private lastFailureLog = 0;
  private stopCoalescing?: () => void;
  /** The adapter's subscriber connection (Redis mode only); exposed for the heartbeat test. */
  subscriber?: Redis;

  constructor(
    app: INestApplication,
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server = super.createIOServer(port, {
      ...options,
      // Room above the per-event limit, so an oversized event gets a payload_too_large ack instead of a dropped connection.
      maxHttpBufferSize: (this.config.SOCKET_MAX_PAYLOAD_BYTES ?? this.config.MESSAGE_MAX_BYTES * 2) * 2,
      cors: { origin: true, credentials: true },
    }) as Server;
    this.stopCoalescing = coalesceSocketWrites(server);
    if (this.redis.mode === 'redis') {
      // The adapter never handles these promises: a failure (Redis down) is counted and logged here
      // instead of ending the process. The local part of a broadcast is delivered regardless; other
      // nodes' clients catch up with `sync`, as after any missed event.
      const pub: Redis = handleRejections(this.redis.duplicate(), FIRE_AND_FORGET_BY_ADAPTER, (err, command) => this.onAdapterFailure(err, command));
      const sub: Redis = handleRejections(this.redis.duplicate(), FIRE_AND_FORGET_BY_ADAPTER, (err, command) => this.onAdapterFailure(err, command));
      server.adapter(withOwnBroadcastSkip(createAdapter(pub, sub, { key: this.redis.key('io') })));
      this.subscriber = sub;
      this.heartbeat = setInterval(() => void this.checkSubscriber(), this.config.REDIS_HEARTBEAT_MS);
      this.heartbeat.unref();
      this.logger.log('socket.io uses the Redis adapter (multi-node fan-out)');
    } else {
      this.logger.log('socket.io uses the in-process adapter (single node)');
    }
    return server;
  }

  /**
   * Pings the subscriber. A half-open TCP connection neither answers nor errors, so no PONG within the
   * timeout counts as dead too: the connection is dropped and ioredis reconnects and resubscribes.
   */
  checkSubscriber(timeoutMs = this.config.REDIS_HEARTBEAT_MS): Promise<boolean> {
    return checkSubscriber(this.subscriber, timeoutMs, this.logger, 'socket.io Redis subscriber');
  }

  private onAdapterFailure(err: Error, command: string): void {
    adapterPublishFailures.inc();
    const now = Date.now();
    if (now - this.lastFailureLog < 10_000) return;
    this.lastFailureLog = now;
    this.logger.warn(`Redis adapter ${command} failed (cross-node fan-out interrupted): ${err.message}`);
  }

  override async close(server: Server): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.stopCoalescing?.();
    await super.close(server);
  }
}

const adapters = new WeakMap<INestApplication, RedisAwareIoAdapter>();

export function useSocketAdapter(app: INestApplication): void {
  const adapter = new RedisAwareIoAdapter(app, app.get(RedisService), app.get(AppConfig));
  adapters.set(app, adapter);
  app.useWebSocketAdapter(adapter);
}

/** The adapter installed on an app (tests reach the subscriber heartbeat through it). */
export function socketAdapterOf(app: INestApplication): RedisAwareIoAdapter | undefined {
  return adapters.get(app);
}
