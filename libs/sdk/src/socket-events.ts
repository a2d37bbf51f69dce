import type { ManagerOptions, SocketOptions } from 'socket.io-client';
import type { ChatApiError } from './errors';
import type { Credential } from './http';
import type * as Wire from '@chat/contracts';
import type { EncryptedMessageContent } from './crypto/envelope';

/** The wire contract of ChatSocket: what the server pushes, the wrapper's own events, acks and sync shapes (docs/realtime.md). */

/** Events the server pushes (docs/realtime.md): the wire contract's map (libs/contracts), with this SDK's envelope type. */
export type ServerEvents = Wire.ServerToClientEventMap<EncryptedMessageContent>;

/** Client events with their payloads and acks (the wire contract's map). */
export type ClientToServerEventMap = Wire.ClientToServerEventMap<EncryptedMessageContent>;

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

export type SendAck = Wire.SendAck;
export type SyncCursor = Wire.SyncCursor;
export type SyncConversationResult = Wire.SyncConversationResult<EncryptedMessageContent>;

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
