import type { ChatEventMap, ChatEventName } from '@chat/chat';
// The bus carries views built by toMessageView / toConversationResponse (typed against the contract there).
import type { ConversationView, MessageView, ServerEventName, ServerToClientEventMap } from '@chat/contracts';
import { ErrorCode } from '@chat/errors';
import type { TenantId } from '@chat/tenancy';
import { Rooms } from './rooms';

/** The chat events that reach sockets (user.updated does not). */
export const SOCKET_CHAT_EVENTS: readonly ChatEventName[] = [
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
  'conversation.moderated',
];

/**
 * What a chat event does to sockets, on every node: a gateway's socket.io server (through its Redis
 * adapter) or, in a process without sockets, @socket.io/redis-emitter publishing to the same adapter.
 */
export interface SocketRoomsTarget {
  emit(rooms: string[], event: string, body: unknown): void;
  join(userRooms: string[], room: string): void;
  leave(userRooms: string[], room: string): void;
  disconnect(room: string): void;
  /** Sockets of these users still joining their rooms must re-read them, on every node (PlatformEvents, see RoomJoiner). */
  membersRemoved(tenantId: TenantId, userIds: string[]): void;
}

/** The socket side of one chat event (docs/realtime.md, "Server to client"). */
export function chatEventToSockets(out: SocketRoomsTarget, name: ChatEventName, p: ChatEventMap[ChatEventName]): string | null {
  const conv = (e: { tenantId: TenantId; conversationId: string }) => [Rooms.conversation(e.tenantId, e.conversationId)];
  // Typed by the wire contract: an event it does not list, or a wrong payload, fails the type-check.
  const emit = <E extends ServerEventName>(rooms: string[], event: E, body: ServerToClientEventMap[E]): E => {
    out.emit(rooms, event, body);
    return event;
  };
  switch (name) {
    case 'message.created':
    case 'message.updated': {
      const e = p as ChatEventMap['message.created'];
      return emit(conv(e), name === 'message.created' ? 'message:new' : 'message:updated', e.message as unknown as MessageView);
    }
    case 'message.deleted': {
      const e = p as ChatEventMap['message.deleted'];
      return emit(conv(e), 'message:deleted', { conversation_id: e.conversationId, message_id: e.messageId, seq: e.seq, deleted_at: e.deleted_at });
    }
    case 'reaction.added':
    case 'reaction.removed': {
      const e = p as ChatEventMap['reaction.added'];
      return emit(conv(e), name === 'reaction.added' ? 'reaction:added' : 'reaction:removed', {
        conversation_id: e.conversationId,
        message_id: e.messageId,
        user_id: e.user_id,
        emoji: e.emoji,
      });
    }
    case 'conversation.read':
    case 'message.delivered': {
      const e = p as ChatEventMap['conversation.read'];
      return emit(conv(e), name === 'conversation.read' ? 'conversation:read' : 'message:delivered', { conversation_id: e.conversationId, user_id: e.user_id, seq: e.seq });
    }
    case 'conversation.updated': {
      const e = p as ChatEventMap['conversation.updated'];
      return emit(conv(e), 'conversation:updated', e.conversation as unknown as ConversationView);
    }
    case 'conversation.created': {
      const e = p as ChatEventMap['conversation.created'];
      out.join(Rooms.users(e.tenantId, e.member_ids), Rooms.conversation(e.tenantId, e.conversationId));
      return emit(Rooms.users(e.tenantId, e.member_ids), 'conversation:new', e.conversation as unknown as ConversationView);
    }
    case 'member.added': {
      const e = p as ChatEventMap['member.added'];
      out.join(Rooms.users(e.tenantId, e.user_ids), Rooms.conversation(e.tenantId, e.conversationId));
      // Also to the added users' own rooms: they learn of it even where the join is still on its way.
      return emit([...conv(e), ...Rooms.users(e.tenantId, e.user_ids)], 'member:added', { conversation_id: e.conversationId, user_ids: e.user_ids, by: e.by ?? null });
    }
    case 'member.removed': {
      const e = p as ChatEventMap['member.removed'];
      emit([...conv(e), ...Rooms.users(e.tenantId, e.user_ids)], 'member:removed', { conversation_id: e.conversationId, user_ids: e.user_ids, by: e.by ?? null });
      out.leave(Rooms.users(e.tenantId, e.user_ids), Rooms.conversation(e.tenantId, e.conversationId));
      out.membersRemoved(e.tenantId, e.user_ids);
      return 'member:removed';
    }
    case 'mls.device_joined': {
      // Every member sees a device enter the group (the commit's stream entry is the history of it).
      const e = p as ChatEventMap['mls.device_joined'];
      return emit(conv(e), 'conversation:device_joined', {
        conversation_id: e.conversationId,
        user_id: e.user_id,
        device_id: e.device_id,
        epoch: e.epoch,
        seq: e.seq,
        message_id: e.message_id,
      });
    }
    case 'user.access_revoked': {
      // Every socket of the user, on every node: told why, then disconnected (the handshake and
      // every event check the user too, so a cut that never arrives still denies all they send).
      const e = p as ChatEventMap['user.access_revoked'];
      const room = Rooms.user(e.tenantId, e.user_id);
      const error =
        e.reason === 'deleted'
          ? { code: ErrorCode.Unauthorized, message: 'This user was deleted' }
          : e.reason === 'banned'
            ? { code: ErrorCode.UserBanned, message: 'This user is banned' }
            : { code: ErrorCode.Forbidden, message: 'User is deactivated' };
      emit([room], 'session:revoked', { error });
      out.disconnect(room);
      return 'session:revoked';
    }
    case 'conversation.moderated': {
      const e = p as ChatEventMap['conversation.moderated'];
      return emit([...conv(e), ...Rooms.users(e.tenantId, e.user_ids)], 'conversation:moderation', e.state as unknown as ServerToClientEventMap['conversation:moderation']);
    }
    default:
      return null;
  }
}
