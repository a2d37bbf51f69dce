import { Injectable, Logger } from '@nestjs/common';
import type { Server } from 'socket.io';
import { ChatEventBus, ChatEventMap, ChatEventName } from '@chat/chat';
import { counter } from '@chat/metrics';
import { chatEventToSockets, SOCKET_CHAT_EVENTS, SocketRoomsTarget } from '@chat/realtime';
import { TenantId } from '@chat/tenancy';

const fannedOut = counter('chat_socket_fanout_total', 'Server-to-client events broadcast by this node', ['event']);

export type MembersRemovedHook = (tenantId: TenantId, userIds: string[]) => void;

/**
 * Chat events (raised by the services after a durable write, whichever of REST or sockets made it) to
 * socket.io rooms, through the adapter, so with Redis they reach every node. Room joins and leaves are
 * applied on this node at once and on every node through the adapter: the Redis adapter sends both
 * requests and broadcasts through one publisher connection, so on each node a leave lands before any
 * later broadcast. Events written by an api process without sockets arrive through the same adapter
 * (ChatEventRelayPublisher publishes them with @socket.io/redis-emitter).
 */
@Injectable()
export class ChatFanout {
  private readonly logger = new Logger('ChatFanout');
  private target?: SocketRoomsTarget;
  private readonly off: Array<() => void> = [];

  constructor(private readonly bus: ChatEventBus) {}

  attach(server: Server, onMembersRemoved: MembersRemovedHook): void {
    this.detach();
    this.target = {
      emit: (rooms, event, body) => server.to(rooms).emit(event, body),
      join: (users, room) => {
        server.local.in(users).socketsJoin(room);
        server.in(users).socketsJoin(room);
      },
      leave: (users, room) => {
        server.local.in(users).socketsLeave(room);
        server.in(users).socketsLeave(room);
      },
      disconnect: (room) => server.in(room).disconnectSockets(true),
      membersRemoved: onMembersRemoved,
    };
    for (const name of SOCKET_CHAT_EVENTS) this.off.push(this.bus.on(name, (e) => this.handle(name, e)));
  }

  detach(): void {
    this.off.splice(0).forEach((u) => u());
    this.target = undefined;
  }

  handle<K extends ChatEventName>(name: K, payload: ChatEventMap[K]): void {
    if (!this.target) return;
    try {
      const event = chatEventToSockets(this.target, name, payload as ChatEventMap[ChatEventName]);
      if (event) fannedOut.inc({ event });
    } catch (err) {
      this.logger.error(`fan-out of ${name} failed: ${(err as Error).message}`);
    }
  }
}

