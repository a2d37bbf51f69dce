import type { ManagerOptions, SocketOptions } from 'socket.io-client';
import type { ChatApiError } from './errors';
import type { Credential } from './http';
import type { ConversationView, MessageView } from './types';

/** The wire contract of ChatSocket: what the server pushes, the wrapper's own events, acks and sync shapes (docs/realtime.md). */

/** Events the server pushes (docs/realtime.md). */
export interface ServerEvents {
  /** Rooms joined: live events flow from now on. */
  'session:ready': { user_id: string; conversations: number };
  /** The token expired; the server disconnects (the wrapper reconnects with a fresh token). */
  'session:expired': { error: { code: string; message: string } };
  /** The user was deactivated (forbidden), deleted (unauthorized) or banned (user_banned); the server disconnects and the wrapper does not reconnect. */
  'session:revoked': { error: { code: string; message: string } };
  'message:new': MessageView;
  'message:updated': MessageView;
  'message:deleted': { conversation_id: string; message_id: string; seq: number; deleted_at: string };
  'reaction:added': { conversation_id: string; message_id: string; user_id: string; emoji: string };
  'reaction:removed': { conversation_id: string; message_id: string; user_id: string; emoji: string };
  typing: { conversation_id: string; user_id: string; typing: boolean };
  presence: { user_id: string; status: string; last_seen?: string | null };
  'conversation:read': { conversation_id: string; user_id: string; seq: number };
  'message:delivered': { conversation_id: string; user_id: string; seq: number };
  'conversation:new': ConversationView;
  'conversation:updated': ConversationView;
  'member:added': { conversation_id: string; user_ids: string[]; by?: string };
  'member:removed': { conversation_id: string; user_ids: string[]; by?: string };
  /** A device entered the conversation's MLS group (E2E v2); the commit is the stream entry at `seq`. */
  'conversation:device_joined': { conversation_id: string; user_id: string; device_id: string; epoch: number; seq: number; message_id: string };
  /** A moderation change of the conversation (docs/moderation.md); `change.action` e.g. `member_muted`, `conversation_frozen`. */
  'conversation:moderation': {
    conversation_id: string;
    frozen: boolean;
    slow_mode_seconds: number;
    muted: Array<{ user_id: string; expires_at: string | null }>;
    change: { action: string; by: { type: string; id: string }; [k: string]: unknown };
  };
  'tenant:suspended': { error: { code: string; message: string } };
  'connection:error': { error: { code: string; message: string; details?: unknown } };
}

/** Events of the wrapper itself. */
export interface ClientEvents {
  connected: { recovered: boolean };
  disconnected: { reason: string };
  reconnecting: { attempt: number };
  /**
   * A catch-up after (re)connecting finished; `messages` were delivered as message:new, `changes` (edits,
   * deletes, reactions made meanwhile) as message:updated / message:deleted.
   */
  synced: { conversations: number; messages: number; changes: number };
  error: ChatApiError;
}

export type ChatSocketEvents = ServerEvents & ClientEvents;

export interface SendAck {
  id: string;
  conversation_id: string;
  seq: number;
  client_msg_id: string;
  created_at: string;
  duplicate: boolean;
}

export interface SyncCursor {
  conversation_id: string;
  after_seq: number;
  /** Only seqs below this one (a hole seen in live delivery). */
  before_seq?: number;
  /** Also the changes to messages up to after_seq after this change position (0: all). */
  after_change?: number;
}

export interface SyncConversationResult {
  conversation_id: string;
  messages?: MessageView[];
  /** Seqs without a message: `hidden` (sent while this user was not a member: skip), `pending` (ask again). */
  holes?: Array<{ seq: number; state: 'pending' | 'hidden' }>;
  has_more?: boolean;
  next_after_seq?: number;
  retry_after_ms?: number;
  changes?: MessageView[];
  next_after_change?: number;
  changes_has_more?: boolean;
  error?: { code: string; message: string; details?: unknown };
}

export interface ChatSocketOptions {
  /** Server URL (the gateway, or the all-in-one server). */
  url: string;
  /** End-user JWT, or a function returning a fresh one: it is read again on every reconnection. */
  token: Credential;
  /** socket.io path (default /socket.io). */
  path?: string;
  /** Default ['websocket'] (no long-polling; set ['polling', 'websocket'] behind proxies that need it). */
  transports?: Array<'websocket' | 'polling'>;
  /** Ack wait per event (default 10 s). */
  ackTimeoutMs?: number;
  /** Reconnect automatically (default true), with socket.io's exponential backoff up to this delay. */
  reconnection?: boolean;
  reconnectionDelayMaxMs?: number;
  /** Last seq seen per conversation (e.g. restored from storage): the catch-up starts after them. */
  positions?: Record<string, number>;
  /** Change position per conversation (allChangePositions, restored from storage); absent: 0, every change is replayed once. */
  changePositions?: Record<string, number>;
  /** Messages per conversation per sync request (server caps at 100). */
  syncLimit?: number;
  /** Extra socket.io options. */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
}
