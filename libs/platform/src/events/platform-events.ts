import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '@chat/config';
import { checkSubscriber, RedisService } from '@chat/redis';
import { asTenantId, TenantId } from '@chat/tenancy';

/** The typed cluster bus: changes every node must act on at once (drop sockets, clear caches, re-read rooms). */
export interface PlatformEventMap {
  'tenant.suspended': { tenantId: TenantId; reason?: string | null };
  'tenant.reactivated': { tenantId: TenantId };
  /** Plan, quotas, region or name changed. */
  'tenant.updated': { tenantId: TenantId };
  'tenant.deleted': { tenantId: TenantId };
  'api_key.revoked': { tenantId: TenantId; keyId: string; prefix: string };
  /** Expiry changed (rotation grace period): caches must re-read it. */
  'api_key.updated': { tenantId: TenantId; keyId: string; prefix: string };
  /** Secret rotated, application renamed or deleted. */
  'application.updated': { tenantId: TenantId; applicationId: string };
  /** Members left a conversation: gateway nodes make those users' sockets still joining their rooms re-read them. */
  'conversation.members_removed': { tenantId: TenantId; userIds: string[] };
}
export type PlatformEventName = keyof PlatformEventMap;

interface Envelope {
  origin: string;
  name: PlatformEventName;
  payload: Record<string, unknown>;
}

const NAMES: ReadonlySet<string> = new Set<PlatformEventName>([
  'tenant.suspended',
  'tenant.reactivated',
  'tenant.updated',
  'tenant.deleted',
  'api_key.revoked',
  'api_key.updated',
  'application.updated',
  'conversation.members_removed',
]);

/**
 * Publish/subscribe for platform events across every node: Redis pub/sub on one namespaced channel,
 * or an in-process emitter when Redis is in memory mode. Listeners on the publishing node run at once
 * (before the Redis round trip); other nodes get the event from Redis. The subscriber connection is
 * pinged on a heartbeat and dropped (ioredis then reconnects and resubscribes) when the ping does not
 * come back, so a half-open TCP connection cannot silently swallow events. Delivery is at most once:
 * the caches that listen here also expire on their own (PLATFORM_CACHE_TTL_SECONDS).
 */
@Injectable()
export class PlatformEvents implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('PlatformEvents');
  private readonly emitter = new EventEmitter().setMaxListeners(100);
  readonly nodeId = randomUUID();
  readonly channel: string;
  private sub?: Redis;
  private heartbeat?: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {
    this.channel = redis.key('platform', 'events');
  }

  async onModuleInit(): Promise<void> {
    if (this.redis.mode !== 'redis') return;
    const sub = this.redis.duplicate();
    this.sub = sub;
    sub.on('message', (channel: string, raw: string) => {
      if (channel === this.channel) this.receive(raw);
    });
    // Named, so an operator (or a test) can find this node's subscriber in CLIENT LIST.
    await sub.call('CLIENT', 'SETNAME', `platform-events-${this.nodeId}`).catch(() => undefined);
    await sub.subscribe(this.channel);
    this.heartbeat = setInterval(() => void this.checkSubscriber(), this.config.REDIS_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Pings the subscriber; no answer within the heartbeat period means a dead link: reconnect. */
  checkSubscriber(timeoutMs = this.config.REDIS_HEARTBEAT_MS): Promise<boolean> {
    return checkSubscriber(this.sub, timeoutMs, this.logger, 'Platform events subscriber');
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.emitter.removeAllListeners();
  }

  /** Runs local listeners now, then tells the other nodes. A Redis failure is logged, not thrown: the write already happened. */
  async publish<K extends PlatformEventName>(name: K, payload: PlatformEventMap[K]): Promise<void> {
    this.dispatch(name, payload);
    if (this.redis.mode !== 'redis' || !this.redis.client) return;
    const envelope: Envelope = { origin: this.nodeId, name, payload: payload as unknown as Record<string, unknown> };
    try {
      await this.redis.client.publish(this.channel, JSON.stringify(envelope));
    } catch (err) {
      this.logger.error(`Could not publish ${name} to other nodes: ${(err as Error).message}`);
    }
  }

  /** Subscribes a listener; returns the function that unsubscribes it. */
  on<K extends PlatformEventName>(name: K, listener: (payload: PlatformEventMap[K]) => void | Promise<void>): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }

  private receive(raw: string): void {
    let env: Envelope;
    try {
      env = JSON.parse(raw) as Envelope;
    } catch {
      this.logger.warn('Ignored a malformed platform event');
      return;
    }
    if (env.origin === this.nodeId || !NAMES.has(env.name) || !env.payload || typeof env.payload.tenantId !== 'string') return;
    try {
      const payload = { ...env.payload, tenantId: asTenantId(env.payload.tenantId) };
      this.dispatch(env.name, payload as unknown as PlatformEventMap[PlatformEventName]);
    } catch {
      this.logger.warn(`Ignored platform event ${env.name} with a bad tenant id`);
    }
  }

  private dispatch<K extends PlatformEventName>(name: K, payload: PlatformEventMap[K]): void {
    for (const l of this.emitter.listeners(name)) {
      try {
        const r = (l as (p: PlatformEventMap[K]) => unknown)(payload);
        if (r && typeof (r as Promise<unknown>).catch === 'function') {
          (r as Promise<unknown>).catch((err: Error) => this.logger.error(`listener for ${name} failed: ${err.message}`));
        }
      } catch (err) {
        this.logger.error(`listener for ${name} failed: ${(err as Error).message}`);
      }
    }
  }
}
