import { Injectable } from '@nestjs/common';
import type { Server } from 'socket.io';
import { ConversationsService, gateSendClaim, GateSendClaim, MessagesService, SendReads } from '@chat/chat';
import { AppConfig } from '@chat/config';
import { DatabaseInfo } from '@chat/database';
import { RedisService } from '@chat/redis';
import type { TenantId } from '@chat/tenancy';
import { distinctCursors, InFlightRequests, PresenceTracker, Rooms, runSync, SyncPage, SYNC_LIMITS, syncWorkUnits, WorkGate } from '@chat/realtime';
import type { ClientEventAck } from '@chat/contracts';
import type { GatewaySocket, SocketSession } from '../socket-session';
import {
  ConversationRefEvent,
  EditMessageEvent,
  MessageRefEvent,
  PresenceQueryEvent,
  ReactionEvent,
  ReadEvent,
  SendMessageEvent,
  SyncEvent,
} from './event-dtos';
import { emitEvent } from '../server-events';

type SyncedMessage = Awaited<ReturnType<MessagesService['sync']>>['data'][number];

export interface EventContext {
  socket: GatewaySocket;
  session: SocketSession;
  server: Server;
}

export interface EventSpec<D extends object = any> {
  dto: new () => D;
  /** Writes are refused while the node drains (the client retries on another node). */
  write: boolean;
  handle(ctx: EventContext, dto: D): Promise<unknown>;
  /** Work units charged to the user's budget before the handler runs (see UserWorkBudget); 1 if absent. */
  cost?(dto: D): number;
  /** Sends a message: the tenant's message quota is charged with the gate's limits, ahead of the send's own check (EventCharges). */
  sendsMessage?: boolean;
  /** The send's claim of its message id, made in the gate's script (EventCharges) and handed to the send. */
  claim?(tenantId: TenantId, userId: string, dto: D): GateSendClaim | null;
  /** Starts the send's cached reads in the gate's tick (one MGET with the access check's), handed to the send. Runs in the tenant's context. */
  prepare?(userId: string, dto: D): SendReads;
}

const spec = <D extends object>(dto: new () => D, write: boolean, handle: (ctx: EventContext, dto: D) => Promise<unknown>, cost?: (dto: D) => number): EventSpec<D> => ({
  dto,
  write,
  handle,
  cost,
});

/**
 * Every client -> server event: payload class and handler. Handlers run inside TenantContext (set by the
 * gateway) and call the same services as REST; fan-out of the resulting changes comes from the
 * ChatEventBus, so a socket write and a REST write reach sockets the same way.
 */
@Injectable()
export class ClientEvents {
  readonly specs: ReadonlyMap<string, EventSpec>;
  /** Identical sync page reads in flight (same tenant, user, conversation, cursor and size) share one. */
  private readonly syncReads = new InFlightRequests<SyncPage<SyncedMessage>>();
  private gate?: WorkGate;

  constructor(
    private readonly messages: MessagesService,
    private readonly conversations: ConversationsService,
    private readonly presence: PresenceTracker,
    private readonly config: AppConfig,
    private readonly database: DatabaseInfo,
    private readonly redis: RedisService,
  ) {
    this.specs = new Map<string, EventSpec>([
      [
        'message:send',
        {
          ...spec(SendMessageEvent, true, (c, d) => this.send(c, d)),
          sendsMessage: true,
          claim: (tenantId: TenantId, userId: string, d: SendMessageEvent) => gateSendClaim(this.redis, tenantId, userId, d.conversation_id, d.client_msg_id),
          prepare: (userId: string, d: SendMessageEvent) => this.messages.prepareSend(userId, d.conversation_id, d),
        },
      ],
      ['message:edit', spec(EditMessageEvent, true, (c, d) => this.edit(c, d))],
      ['message:delete', spec(MessageRefEvent, true, (c, d) => this.remove(c, d))],
      ['reaction:add', spec(ReactionEvent, true, (c, d) => this.react(c, d, true))],
      ['reaction:remove', spec(ReactionEvent, true, (c, d) => this.react(c, d, false))],
      ['typing:start', spec(ConversationRefEvent, false, (c, d) => this.typing(c, d, true))],
      ['typing:stop', spec(ConversationRefEvent, false, (c, d) => this.typing(c, d, false))],
      ['conversation:read', spec(ReadEvent, true, (c, d) => this.messages.markRead(c.session.userId, d.conversation_id, d.seq))],
      ['conversation:delivered', spec(ReadEvent, true, (c, d) => this.messages.markDelivered(c.session.userId, d.conversation_id, d.seq))],
      ['sync', spec(SyncEvent, false, (c, d) => this.sync(c, d), (d) => syncWorkUnits(d.conversations, d.limit ?? SYNC_LIMITS.defaultLimit))],
      ['presence:query', spec(PresenceQueryEvent, false, async (c, d) => ({ users: await this.presence.statuses(c.session.tenantId, [...new Set(d.user_ids)]) }))],
    ]);
  }

  /** Acked only once the message is durably stored; a repeated client_msg_id gets the original ack. */
  private send({ session }: EventContext, dto: SendMessageEvent): Promise<ClientEventAck<'message:send'>> {
    // One then, not an async function's two promises (on Node 20 each runs AsyncLocalStorage's hooks).
    return this.messages
      .send(session.userId, dto.conversation_id, dto)
      .then(({ message, duplicate }) => ({ id: message.id, conversation_id: message.conversation_id, seq: message.seq, client_msg_id: message.client_msg_id, created_at: message.created_at, duplicate }));
  }

  private async edit({ session }: EventContext, dto: EditMessageEvent): Promise<ClientEventAck<'message:edit'>> {
    const m = await this.messages.edit(session.userId, dto.conversation_id, dto.message_id, dto);
    return { id: m.id, conversation_id: m.conversation_id, seq: m.seq, edited_at: m.edited_at, updated_at: m.updated_at };
  }

  private async remove({ session }: EventContext, dto: MessageRefEvent): Promise<ClientEventAck<'message:delete'>> {
    const m = await this.messages.remove(session.userId, dto.conversation_id, dto.message_id);
    return { id: m.id, conversation_id: m.conversation_id, seq: m.seq, deleted_at: m.deleted_at };
  }

  private async react({ session }: EventContext, dto: ReactionEvent, add: boolean): Promise<ClientEventAck<'reaction:add'>> {
    const m = add
      ? await this.messages.addReaction(session.userId, dto.conversation_id, dto.message_id, dto.emoji)
      : await this.messages.removeReaction(session.userId, dto.conversation_id, dto.message_id, dto.emoji);
    return { id: m.id, conversation_id: m.conversation_id, reactions: m.reactions };
  }

  /** Throttled per socket and conversation, relayed to the other members, never stored. */
  private async typing({ socket, session, server }: EventContext, dto: ConversationRefEvent, start: boolean): Promise<ClientEventAck<'typing:start'>> {
    const { tenantId, userId } = session;
    const room = Rooms.conversation(tenantId, dto.conversation_id);
    // The socket's rooms are its verified memberships; anything else is checked (and joined) first.
    if (!socket.rooms.has(room)) {
      await this.conversations.requireMember(dto.conversation_id, userId);
      socket.join(room);
    }
    const relay = start ? session.typing.start(dto.conversation_id) : session.typing.stop(dto.conversation_id);
    if (relay) emitEvent(server.to(room).except(Rooms.user(tenantId, userId)), 'typing', { conversation_id: dto.conversation_id, user_id: userId, typing: start });
    return { relayed: relay };
  }

  /**
   * Catch-up after a reconnect. The cost is bounded three ways: a conversation asked for twice is read
   * once; every page read of every sync on this node waits for one of SYNC_NODE_CONCURRENCY slots (a
   * reconnect storm queues here instead of saturating the database that writes also need); the same
   * read already in flight for the same user (their other sockets) is shared, not repeated. The user's
   * work budget was charged before this runs (see `cost`).
   */
  private async sync({ session }: EventContext, dto: SyncEvent): Promise<ClientEventAck<'sync'>> {
    const gate = this.syncGate();
    const conversations = await runSync(distinctCursors(dto.conversations), dto.limit ?? SYNC_LIMITS.defaultLimit, (conversationId, afterSeq, limit, cursor) =>
      // Keyed by user: what a member may see can differ between members of the same conversation.
      this.syncReads.run(JSON.stringify([session.tenantId, session.userId, conversationId, afterSeq, cursor.before_seq, cursor.after_change, limit]), () =>
        gate.run(async () => {
          const { messages, has_more, next_after_seq, ...extra } = await this.messages.syncStream(session.userId, conversationId, {
            after_seq: afterSeq,
            before_seq: cursor.before_seq,
            after_change: cursor.after_change,
            limit,
          });
          return { messages, has_more, next_after_seq, extra };
        }),
      ),
    );
    return { conversations };
  }

  /** Built at first use: the default depends on the database, known once the app has connected. */
  private syncGate(): WorkGate {
    this.gate ??= new WorkGate(
      this.config.SYNC_NODE_CONCURRENCY ?? (this.database.capabilities?.server === 'ferretdb' ? 2 : 16),
      this.config.SYNC_NODE_QUEUE_MAX,
      'Sync is busy on this node: retry shortly',
    );
    return this.gate;
  }
}
