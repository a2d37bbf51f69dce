import { Injectable, Logger, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Emitter } from '@socket.io/redis-emitter';
import { ChatEventBus } from '@chat/chat';
import { counter } from '@chat/metrics';
import { PlatformEvents, PlatformModule } from '@chat/platform';
import { FIRE_AND_FORGET_BY_ADAPTER, handleRejections, RedisService } from '@chat/redis';
import { TenantId } from '@chat/tenancy';
import { chatEventToSockets, SOCKET_CHAT_EVENTS, SocketRoomsTarget } from './chat-socket-events';

/** Provided by the gateway module: tells the relay that this process fans chat events out itself. */
export const REALTIME_GATEWAY_PRESENT = 'REALTIME_GATEWAY_PRESENT';

const emitterPublishFailures = counter('chat_socket_emitter_publish_failures_total', 'Socket events a process without sockets could not publish to the gateways (Redis down)');

/**
 * In a process that serves REST but no sockets (the api app run on its own), chat events have no
 * gateway of their own: this publishes them with @socket.io/redis-emitter straight into the gateways'
 * Redis adapter (same key), as broadcasts, room joins and leaves and disconnects that every gateway
 * node applies to its own sockets, exactly as if a gateway had sent them. Where a gateway runs in the
 * same process (all-in-one) it stays off, since the gateway fans the events out itself. Delivery is at
 * most once, like every socket event: clients catch up with `sync`. A failed publish (Redis down) is
 * counted and logged, never thrown.
 */
@Injectable()
export class ChatEventRelayPublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ChatEventRelay');
  private readonly off: Array<() => void> = [];
  private lastFailureLog = 0;
  active = false;

  constructor(
    private readonly bus: ChatEventBus,
    private readonly redis: RedisService,
    private readonly moduleRef: ModuleRef,
    private readonly platformEvents: PlatformEvents,
  ) {}

  onApplicationBootstrap(): void {
    if (this.hasLocalGateway()) return;
    if (this.redis.mode !== 'redis' || !this.redis.client) {
      this.logger.warn('No Redis: chat events of this process cannot reach gateways in other processes');
      return;
    }
    const client = handleRejections(this.redis.duplicate(), FIRE_AND_FORGET_BY_ADAPTER, (err) => this.onPublishFailure(err));
    const emitter = new Emitter(client, { key: this.redis.key('io') });
    const target: SocketRoomsTarget = {
      emit: (rooms, event, body) => emitter.to(rooms).emit(event, body),
      join: (users, room) => emitter.in(users).socketsJoin(room),
      leave: (users, room) => emitter.in(users).socketsLeave(room),
      disconnect: (room) => emitter.in(room).disconnectSockets(true),
      membersRemoved: (tenantId: TenantId, userIds: string[]) => void this.platformEvents.publish('conversation.members_removed', { tenantId, userIds }),
    };
    for (const name of SOCKET_CHAT_EVENTS) {
      this.off.push(
        this.bus.on(name, (payload) => {
          try {
            chatEventToSockets(target, name, payload);
          } catch (err) {
            this.logger.warn(`relaying ${name} failed: ${(err as Error).message}`);
          }
        }),
      );
    }
    this.active = true;
    this.logger.log('No socket gateway in this process: publishing chat events to the gateways through the Redis adapter');
  }

  onApplicationShutdown(): void {
    this.off.splice(0).forEach((u) => u());
  }

  private onPublishFailure(err: Error): void {
    emitterPublishFailures.inc();
    const now = Date.now();
    if (now - this.lastFailureLog < 10_000) return;
    this.lastFailureLog = now;
    this.logger.warn(`publishing socket events failed (gateways miss them; clients catch up with sync): ${err.message}`);
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
@Module({ imports: [PlatformModule], providers: [ChatEventRelayPublisher], exports: [ChatEventRelayPublisher] })
export class RealtimeRelayModule {}
