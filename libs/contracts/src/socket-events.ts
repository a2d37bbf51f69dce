import type { ErrorResponse, IsoDate } from './common';
import type { ConversationView } from './conversations';
import type { MessageContent, MessageReaction, MessageViewOf, ReceiptView } from './messages';

/**
 * The socket.io contract (docs/realtime.md). Every client event is answered through its ack with
 * `{ ok: true, data }` or the error shape; the maps below give, per event, the payload and `data`.
 * `C` narrows the message envelope type (the SDK passes its own).
 */
export type Ack<T> = { ok: true; data: T } | ErrorResponse;

export interface SendMessagePayload<C extends object = MessageContent> {
  conversation_id: string;
  content: C;
  client_msg_id?: string;
  thread_parent_id?: string;
  search_tokens?: string[];
  mentions?: string[];
  preview?: string;
}

export type EditMessagePayload<C extends object = MessageContent> = Omit<SendMessagePayload<C>, 'client_msg_id' | 'thread_parent_id'> & { message_id: string };
export interface ConversationRef {
  conversation_id: string;
}
export interface MessageRef extends ConversationRef {
  message_id: string;
}
export interface ReactionPayload extends MessageRef {
  emoji: string;
}
export interface SeqPayload extends ConversationRef {
  seq: number;
}

export interface SyncCursor {
  conversation_id: string;
  after_seq: number;
  /** Only seqs below this one (a hole seen in live delivery). */
  before_seq?: number;
  /** Also the changes to messages up to after_seq after this change position (0: all). */
  after_change?: number;
}

export interface SyncPayload {
  conversations: SyncCursor[];
  limit?: number;
}

export interface SyncConversationResult<C extends object = MessageContent> {
  conversation_id: string;
  messages?: Array<MessageViewOf<C>>;
  /** Seqs without a message: `hidden` (sent while this user was not a member: skip), `pending` (ask again). */
  holes?: Array<{ seq: number; state: 'pending' | 'hidden' }>;
  has_more?: boolean;
  next_after_seq?: number;
  retry_after_ms?: number;
  changes?: Array<MessageViewOf<C>>;
  next_after_change?: number;
  changes_has_more?: boolean;
  /** This conversation could not be synced (e.g. no longer a member); the others were. */
  error?: ErrorResponse['error'];
}

export interface SendAck {
  id: string;
  conversation_id: string;
  seq: number;
  client_msg_id: string;
  created_at: IsoDate;
  /** A repeated client_msg_id: this is the original message's ack. */
  duplicate: boolean;
}
export interface EditAck {
  id: string;
  conversation_id: string;
  seq: number;
  edited_at: IsoDate | null;
  updated_at: IsoDate;
}
export interface DeleteAck {
  id: string;
  conversation_id: string;
  seq: number;
  deleted_at: IsoDate | null;
}
export interface ReactionAck {
  id: string;
  conversation_id: string;
  reactions: MessageReaction[];
}

export interface PresenceStatusView {
  user_id: string;
  status: string;
  last_seen?: IsoDate | null;
}

/** Client -> server: each event's payload and the `data` of its successful ack. */
export interface ClientToServerEventMap<C extends object = MessageContent> {
  'message:send': { payload: SendMessagePayload<C>; ack: SendAck };
  'message:edit': { payload: EditMessagePayload<C>; ack: EditAck };
  'message:delete': { payload: MessageRef; ack: DeleteAck };
  'reaction:add': { payload: ReactionPayload; ack: ReactionAck };
  'reaction:remove': { payload: ReactionPayload; ack: ReactionAck };
  'typing:start': { payload: ConversationRef; ack: { relayed: boolean } };
  'typing:stop': { payload: ConversationRef; ack: { relayed: boolean } };
  'conversation:read': { payload: SeqPayload; ack: ReceiptView };
  'conversation:delivered': { payload: SeqPayload; ack: ReceiptView };
  sync: { payload: SyncPayload; ack: { conversations: Array<SyncConversationResult<C>> } };
  'presence:query': { payload: { user_ids: string[] }; ack: { users: PresenceStatusView[] } };
}

export type ClientEventName = keyof ClientToServerEventMap;
export type ClientEventPayload<E extends ClientEventName, C extends object = MessageContent> = ClientToServerEventMap<C>[E]['payload'];
export type ClientEventAck<E extends ClientEventName, C extends object = MessageContent> = ClientToServerEventMap<C>[E]['ack'];

/** socket.io's typed form of the client events (`Socket<ServerToClientEvents, ClientToServerEvents>`). */
export type ClientToServerEvents<C extends object = MessageContent> = {
  [E in ClientEventName]: (payload: ClientToServerEventMap<C>[E]['payload'], ack: (response: Ack<ClientToServerEventMap<C>[E]['ack']>) => void) => void;
};

/** Server -> client: each pushed event's payload. */
export interface ServerToClientEventMap<C extends object = MessageContent> {
  /** Rooms joined: live events flow from now on. */
  'session:ready': { user_id: string; conversations: number };
  /** The token expired; the server disconnects (reconnect with a fresh token). */
  'session:expired': ErrorResponse;
  /** The user was deactivated (forbidden), deleted (unauthorized) or banned (user_banned); the server disconnects. */
  'session:revoked': ErrorResponse;
  'message:new': MessageViewOf<C>;
  'message:updated': MessageViewOf<C>;
  'message:deleted': { conversation_id: string; message_id: string; seq: number; deleted_at: IsoDate | null };
  'reaction:added': { conversation_id: string; message_id: string; user_id: string; emoji: string };
  'reaction:removed': { conversation_id: string; message_id: string; user_id: string; emoji: string };
  typing: { conversation_id: string; user_id: string; typing: boolean };
  presence: PresenceStatusView;
  'conversation:read': { conversation_id: string; user_id: string; seq: number };
  'message:delivered': { conversation_id: string; user_id: string; seq: number };
  'conversation:new': ConversationView;
  'conversation:updated': ConversationView;
  'member:added': { conversation_id: string; user_ids: string[]; by: string | null };
  'member:removed': { conversation_id: string; user_ids: string[]; by: string | null };
  /** A device entered the conversation's MLS group (E2E v2); the commit is the stream entry at `seq`. */
  'conversation:device_joined': { conversation_id: string; user_id: string; device_id: string; epoch: number; seq: number; message_id: string };
  /** A moderation change of the conversation (docs/moderation.md); `change.action` e.g. `member_muted`, `conversation_frozen`. */
  'conversation:moderation': {
    conversation_id: string;
    frozen: boolean;
    slow_mode_seconds: number;
    muted: Array<{ user_id: string; expires_at: IsoDate | null }>;
    change: { action: string; by: { type: string; id: string }; [field: string]: unknown };
  };
  'tenant:suspended': ErrorResponse;
  'connection:error': ErrorResponse;
}

export type ServerEventName = keyof ServerToClientEventMap;

/** socket.io's typed form of the server events. */
export type ServerToClientEvents<C extends object = MessageContent> = {
  [E in ServerEventName]: (payload: ServerToClientEventMap<C>[E]) => void;
};

/** Typing relay answer of typing:start / typing:stop. */
export interface TypingAck {
  relayed: boolean;
}
