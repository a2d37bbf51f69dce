// The bus carries views built by toMessageView / toConversationResponse (typed against the contract there).
import type { ConversationView, MessageView, ServerEventName, ServerToClientEventMap } from '@chat/contracts';
import { Injectable, Logger } from '@nestjs/common';
import type { BroadcastOperator, Server } from 'socket.io';
import { ChatEventBus, ChatEventMap, ChatEventName } from '@chat/chat';
import { AppConfig } from '@chat/config';
import { ErrorCode } from '@chat/errors';
import { counter } from '@chat/metrics';
import { ChatEventRelaySubscriber, RELAYED_CHAT_EVENTS, Rooms } from '@chat/realtime';
import { RedisService } from '@chat/redis';
import { TenantId } from '@chat/tenancy';

const fannedOut = counter('chat_socket_fanout_total', 'Server-to-client events broadcast by this node', ['event']);

/**
 * `cluster`: an event raised in this process, sent to every node through the adapter.
 * `local`: an event relayed from a process without sockets, which every node receives itself.
 */
export type FanoutScope = 'cluster' | 'local';

export type MembersRemovedHook = (tenantId: TenantId, conversationId: string, userIds: string[], scope: FanoutScope) => void;

/**
 * Chat events (raised by the services after a durable write, whichever of REST or sockets made it) to
 * socket.io rooms. Events raised in this process go through the adapter, so with Redis they reach every
 * node. Room joins and leaves are applied on this node at once and on every node through the adapter:
 * the Redis adapter sends both requests and broadcasts through one publisher connection, so on each
 * node a leave lands before any later broadcast. Events written by an api process without sockets
 * arrive through the relay channel on every node, which then serves only its own sockets.
 */
@Injectable()
export class ChatFanout {
  private readonly logger = new Logger('ChatFanout');
  private server?: Server;
  private onMembersRemoved: MembersRemovedHook = () => undefined;
  private readonly off: Array<() => void> = [];
  readonly relay: ChatEventRelaySubscriber;

  constructor(
    private readonly bus: ChatEventBus,
    redis: RedisService,
    config: AppConfig,
  ) {
    this.relay = new ChatEventRelaySubscriber(redis, config);
  }

  async attach(server: Server, onMembersRemoved: MembersRemovedHook): Promise<void> {
    this.detach();
    this.server = server;
    this.onMembersRemoved = onMembersRemoved;
    for (const name of RELAYED_CHAT_EVENTS) this.off.push(this.bus.on(name, (e) => this.handle(name, e, 'cluster')));
    await this.relay.start((name, e) => this.handle(name, e, 'local'));
  }

  detach(): void {
    this.off.splice(0).forEach((u) => u());
    void this.relay.stop();
    this.server = undefined;
  }

  handle<K extends ChatEventName>(name: K, payload: ChatEventMap[K], scope: FanoutScope): void {
    if (!this.server) return;
    try {
      this.dispatch(name, payload as ChatEventMap[ChatEventName], scope);
    } catch (err) {
      this.logger.error(`fan-out of ${name} failed: ${(err as Error).message}`);
    }
  }

  private dispatch(name: ChatEventName, p: ChatEventMap[ChatEventName], scope: FanoutScope): void {
    const conv = (e: { tenantId: TenantId; conversationId: string }) => [Rooms.conversation(e.tenantId, e.conversationId)];
    switch (name) {
      case 'message.created':
      case 'message.updated': {
        const e = p as ChatEventMap['message.created'];
        return this.emit(scope, conv(e), name === 'message.created' ? 'message:new' : 'message:updated', e.message as unknown as MessageView);
      }
      case 'message.deleted': {
        const e = p as ChatEventMap['message.deleted'];
        return this.emit(scope, conv(e), 'message:deleted', { conversation_id: e.conversationId, message_id: e.messageId, seq: e.seq, deleted_at: e.deleted_at });
      }
      case 'reaction.added':
      case 'reaction.removed': {
        const e = p as ChatEventMap['reaction.added'];
        return this.emit(scope, conv(e), name === 'reaction.added' ? 'reaction:added' : 'reaction:removed', {
          conversation_id: e.conversationId,
          message_id: e.messageId,
          user_id: e.user_id,
          emoji: e.emoji,
        });
      }
      case 'conversation.read':
      case 'message.delivered': {
        const e = p as ChatEventMap['conversation.read'];
        return this.emit(scope, conv(e), name === 'conversation.read' ? 'conversation:read' : 'message:delivered', { conversation_id: e.conversationId, user_id: e.user_id, seq: e.seq });
      }
      case 'conversation.updated': {
        const e = p as ChatEventMap['conversation.updated'];
        return this.emit(scope, conv(e), 'conversation:updated', e.conversation as unknown as ConversationView);
      }
      case 'conversation.created': {
        const e = p as ChatEventMap['conversation.created'];
        this.join(scope, e.tenantId, e.member_ids, e.conversationId);
        return this.emit(scope, Rooms.users(e.tenantId, e.member_ids), 'conversation:new', e.conversation as unknown as ConversationView);
      }
      case 'member.added': {
        const e = p as ChatEventMap['member.added'];
        this.join(scope, e.tenantId, e.user_ids, e.conversationId);
        // Also to the added users' own rooms: they learn of it even where the join is still on its way.
        return this.emit(scope, [...conv(e), ...Rooms.users(e.tenantId, e.user_ids)], 'member:added', { conversation_id: e.conversationId, user_ids: e.user_ids, by: e.by ?? null });
      }
      case 'member.removed': {
        const e = p as ChatEventMap['member.removed'];
        this.emit(scope, [...conv(e), ...Rooms.users(e.tenantId, e.user_ids)], 'member:removed', { conversation_id: e.conversationId, user_ids: e.user_ids, by: e.by ?? null });
        this.leave(scope, e.tenantId, e.user_ids, e.conversationId);
        return this.onMembersRemoved(e.tenantId, e.conversationId, e.user_ids, scope);
      }
      case 'user.access_revoked': {
        // Every socket of the user, on every node: told why, then disconnected (the handshake and
        // every event check the user too, so a cut that never arrives still denies all they send).
        const e = p as ChatEventMap['user.access_revoked'];
        const room = Rooms.user(e.tenantId, e.user_id);
        const error = e.reason === 'deleted' ? { code: ErrorCode.Unauthorized, message: 'This user was deleted' } : { code: ErrorCode.Forbidden, message: 'User is deactivated' };
        this.emit(scope, [room], 'session:revoked', { error });
        this.target(scope).in(room).disconnectSockets(true);
        return;
      }
      default:
        return;
    }
  }

  private target(scope: FanoutScope): Server | BroadcastOperator<Record<string, never>, unknown> {
    return scope === 'local' ? this.server!.local : this.server!;
  }

  /** Typed by the wire contract: an event the contract does not list, or a wrong payload, fails the type-check. */
  private emit<E extends ServerEventName>(scope: FanoutScope, rooms: string[], event: E, body: ServerToClientEventMap[E]): void {
    this.target(scope).to(rooms).emit(event, body);
    fannedOut.inc({ event });
  }

  private join(scope: FanoutScope, tenantId: TenantId, userIds: string[], conversationId: string): void {
    const users = Rooms.users(tenantId, userIds);
    const room = Rooms.conversation(tenantId, conversationId);
    this.server!.local.in(users).socketsJoin(room);
    if (scope === 'cluster') this.server!.in(users).socketsJoin(room);
  }

  private leave(scope: FanoutScope, tenantId: TenantId, userIds: string[], conversationId: string): void {
    const users = Rooms.users(tenantId, userIds);
    const room = Rooms.conversation(tenantId, conversationId);
    this.server!.local.in(users).socketsLeave(room);
    if (scope === 'cluster') this.server!.in(users).socketsLeave(room);
  }
}
