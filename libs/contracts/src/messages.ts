import type { IsoDate } from './common';
import type { WrappedKey } from './keys';

/**
 * The E2E envelope a message carries, as the server stores it (it never reads inside). v1 envelopes
 * wrap a content key per recipient device; v2 (MLS) ones derive it per epoch. The SDK narrows this
 * with its own envelope types (MessageView's type parameter); other fields are version-specific.
 */
export interface MessageContent {
  /** What the message is (the server accepts only these in a send), or `mls_commit`: an MLS handshake the Delivery Service stored. */
  type: 'text' | 'file' | 'image' | 'video' | 'audio' | 'mls_commit';
  algorithm: string;
  encrypted_data: string;
  sender_device_id: string;
  signature?: string;
  /** Message franking: base64 commitment to the plaintext, stored as sent. */
  franking_commitment?: string;
  /** v1: the sender's key version, the ephemeral public key, and the content key wrapped per recipient device. */
  sender_key_version?: number;
  ephemeral_public_key?: string;
  encrypted_key?: WrappedKey[];
  /** v2 (MLS): the envelope version (2; absent or 1 on v1), and the group and epoch whose exporter secret derives the content key. */
  version?: 1 | 2;
  group_id?: string;
  epoch?: number;
  /** `mls_commit` only: the devices the commit brought into the group. */
  joined?: Array<{ user_id: string; device_id: string }>;
}

export const MESSAGE_STATUSES = ['sent', 'delivered', 'read', 'deleted'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export interface MessageReaction {
  user_id: string;
  emoji: string;
  created_at: IsoDate;
}

/** A message as clients receive it (REST bodies and socket events), with the envelope type C. */
export interface MessageViewOf<C extends object> {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string;
  client_msg_id: string;
  /** The E2E envelope (null once deleted). */
  content: C | null;
  preview: string | null;
  mentions: string[];
  reactions: MessageReaction[];
  thread: { parent_id: string | null; reply_count: number };
  read_by: Array<{ user_id: string; read_at: IsoDate }>;
  status: MessageStatus;
  /** A seq that holds no message (a send that could not be stored); clients skip it. */
  gap: boolean;
  created_at: IsoDate;
  updated_at: IsoDate;
  edited_at: IsoDate | null;
  deleted_at: IsoDate | null;
  /** Change position of its latest edit, delete, reaction or thread-counter change (0: never changed). */
  change_seq: number;
  /** `system`: posted by the SaaS client's server, plaintext `text`, NOT end-to-end encrypted: show it so. */
  type: 'regular' | 'system';
  /** False for system messages. */
  e2e: boolean;
  /** A system message's plaintext (null on every other message, and once deleted). */
  text: string | null;
}

/** A message as clients receive it (REST bodies and socket events). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- a named non-generic type: OpenAPI components are generated from those
export interface MessageView extends MessageViewOf<MessageContent> {}

export interface ChangesPageOf<C extends object> {
  changes: Array<MessageViewOf<C>>;
  /** Send this as after_change next time. */
  next_after_change: number;
  changes_has_more: boolean;
}

/** Messages changed after a change position (GET .../changes, and `sync` with after_change). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- a named non-generic type: OpenAPI components are generated from those
export interface ChangesPage extends ChangesPageOf<MessageContent> {}

/** A member's read and delivered positions in a conversation. */
export interface ReceiptView {
  conversation_id: string;
  user_id: string;
  last_read_seq?: number;
  last_delivered_seq: number;
}
