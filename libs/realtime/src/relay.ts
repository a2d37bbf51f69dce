import { Injectable, Logger, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { ChatEventBus, ChatEventMap, ChatEventName } from '@chat/chat';
import { AppConfig } from '@chat/config';
import { checkSubscriber, RedisService } from '@chat/redis';
import { asTenantId } from '@chat/tenancy';

/** Provided by the gateway module: tells the relay that this process fans chat events out itself. */
export const REALTIME_GATEWAY_PRESENT = 'REALTIME_GATEWAY_PRESENT';

export const RELAYED_CHAT_EVENTS: readonly ChatEventName[] = [
  'message.created',
  'message.updated',
  'message.deleted',
  'reaction.added',
  'reaction.removed',
  'conversation.read',
  'message.delivered',
  'conversation.created',
  'conversation.updated',
  'member.added',
  'member.removed',
  'mls.device_joined',
  'user.access_revoked',
];
const RELAYED = new Set<string>(RELAYED_CHAT_EVENTS);

export function chatRelayChannel(redis: RedisService): string {
  return redis.key('rt', 'chat-events');
}

interface Envelope {
  name: ChatEventName;
  payload: Record<string, unknown>;
}

/**
 * In a process that serves REST but no sockets (the api app run on its own), chat events have no
 * gateway to reach: this publishes them on a Redis channel that every gateway node subscribes to.
 * Where a gateway runs in the same process (all-in-one) it stays off, since the gateway fans the
 * events out itself. Delivery is at most once, like every socket event: clients catch up with `sync`.
 */
@Injectable()
export class ChatEventRelayPublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ChatEventRelay');
  private readonly off: Array<() => void> = [];
  active = false;

  constructor(
    private readonly bus: ChatEventBus,
    private readonly redis: RedisService,
    private readonly moduleRef: ModuleRef,
  ) {}

  onApplicationBootstrap(): void {
    if (this.hasLocalGateway()) return;
    if (this.redis.mode !== 'redis' || !this.redis.client) {
      this.logger.warn('No Redis: chat events of this process cannot reach gateways in other processes');
      return;
    }
    const client = this.redis.client;
    const channel = chatRelayChannel(this.redis);
    for (const name of RELAYED_CHAT_EVENTS) {
      this.off.push(
        this.bus.on(name, (payload) => {
          client.publish(channel, JSON.stringify({ name, payload })).catch((err: Error) => this.logger.warn(`relaying ${name} failed: ${err.message}`));
        }),
      );
    }
    this.active = true;
    this.logger.log('No socket gateway in this process: relaying chat events to the gateways through Redis');
  }

  onApplicationShutdown(): void {
    this.off.splice(0).forEach((u) => u());
  }

  private hasLocalGateway(): boolean {
    try {
      return this.moduleRef.get(REALTIME_GATEWAY_PRESENT, { strict: false }) === true;
    } catch {
      return false;
    }
  }
}

/** For apps that write chat data but serve no sockets (the api app): relays chat events to the gateways. */
@Module({ providers: [ChatEventRelayPublisher], exports: [ChatEventRelayPublisher] })
export class RealtimeRelayModule {}

/**
 * The gateway side: receives relayed chat events. Its connection is pinged on a heartbeat and dropped
 * (ioredis reconnects and resubscribes) when no PONG comes back, so a half-open link cannot silently
 * swallow events.
 */
export class ChatEventRelaySubscriber {
  private readonly logger = new Logger('ChatEventRelay');
  private sub?: Redis;
  private heartbeat?: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {}

  async start(onEvent: <K extends ChatEventName>(name: K, payload: ChatEventMap[K]) => void): Promise<void> {
    if (this.redis.mode !== 'redis') return;
    const channel = chatRelayChannel(this.redis);
    const sub = this.redis.duplicate();
    this.sub = sub;
    sub.on('message', (ch: string, raw: string) => {
      if (ch !== channel) return;
      let env: Envelope;
      try {
        env = JSON.parse(raw) as Envelope;
        if (!env || !RELAYED.has(env.name) || !env.payload || typeof env.payload.tenantId !== 'string') throw new Error('bad envelope');
        env.payload.tenantId = asTenantId(env.payload.tenantId);
      } catch {
        this.logger.warn('Ignored a malformed relayed chat event');
        return;
      }
      onEvent(env.name, env.payload as unknown as ChatEventMap[ChatEventName]);
    });
    await sub.subscribe(channel);
    this.heartbeat = setInterval(() => void this.check(), this.config.REDIS_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  check(timeoutMs = this.config.REDIS_HEARTBEAT_MS): Promise<boolean> {
    return checkSubscriber(this.sub, timeoutMs, this.logger, 'relay subscriber');
  }

  async stop(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    await this.sub?.unsubscribe().catch(() => undefined);
  }
}
