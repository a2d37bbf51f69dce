import { Schema, Types } from 'mongoose';
import { MESSAGE_STATUSES, type MessageStatus } from '@chat/contracts';
import { eventTraceSchemaPath, ferretDbEqualityIndexes, mongoOnlyIndex, type EventTrace } from '@chat/database';
import { tenantGuardPlugin } from '@chat/tenancy';

export const MESSAGE_CONTENT_TYPES = ['text', 'file', 'image', 'video', 'audio'] as const;
export type MessageContentType = (typeof MESSAGE_CONTENT_TYPES)[number];

export interface WrappedKeyEntry {
  user_id: string;
  device_id: string;
  key_version: number;
  wrapped_key: string;
}

/**
 * The E2E envelope produced by the SDK (libs/sdk/src/crypto for v1, libs/sdk/src/mls for v2). The
 * server stores it and never looks inside. v1 carries a wrapped key per recipient device; v2
 * (`version: 2`) names the conversation's MLS group and epoch instead (docs/e2e.md, "Wire format v2");
 * `mls_commit` entries are commits the Delivery Service wrote into the stream.
 */
export interface MessageContent {
  type: MessageContentType | typeof HANDSHAKE_CONTENT_TYPE;
  algorithm: string;
  sender_device_id: string;
  encrypted_data: string;
  signature?: string;
  /** v1 only. */
  sender_key_version?: number;
  ephemeral_public_key?: string;
  encrypted_key?: WrappedKeyEntry[];
  /** 2 for v2 (absent, or 1, on v1). */
  version?: 1 | 2;
  group_id?: string;
  epoch?: number;
  /** Devices a commit brought into the group (mls_commit only). */
  joined?: Array<{ user_id: string; device_id: string }>;
  /** Franking commitment (base64, 32 bytes): the server stores it as sent and checks reports against it (libs/reports). */
  franking_commitment?: string;
}

/** Content type of a commit in the seq stream (written by the MLS Delivery Service, never sent by clients). */
export const HANDSHAKE_CONTENT_TYPE = 'mls_commit' as const;

export interface Reaction {
  user_id: string;
  emoji: string;
  /** `<user_id length>:<user_id>:<emoji>` (unambiguous): lets "one reaction per emoji per user" be one conditional update (no $elemMatch on FerretDB). */
  key: string;
  created_at: Date;
}

export interface MessageDoc {
  tenant_id: string;
  conversation_id: string;
  seq: number;
  sender_id: string;
  client_msg_id: string;
  /** Null once deleted (tombstone) and on gap fillers. */
  content: MessageContent | null;
  /** Encrypted preview for the conversation list (ciphertext, optional). */
  preview: string | null;
  search_tokens: string[];
  mentions: string[];
  reactions: Reaction[];
  thread: { parent_id: string | null; reply_count: number };
  read_by: Array<{ user_id: string; read_at: Date }>;
  status: MessageStatus;
  /** True for a tombstone written for a reserved seq whose message could not be stored (keeps seqs gap-free). */
  gap: boolean;
  created_at: Date;
  updated_at: Date;
  edited_at: Date | null;
  deleted_at: Date | null;
  /**
   * The conversation's change position (conversation.last_change_seq) of this message's latest edit,
   * delete, reaction or thread-counter change; 0 while never changed. Sync returns changes after a
   * client's position by it. Optional: messages stored before it existed have none (never changed since).
   */
  change_seq?: number;
  /**
   * `system`: posted by the SaaS client's server (API key), with plaintext `text` and no content: not
   * end-to-end encrypted, and shown as such. Absent on messages stored before it existed: `regular`.
   */
  type?: MessageType;
  /** A system message's plaintext (never set on end users' messages, whose content is ciphertext). */
  text?: string | null;
  /** Webhook events of this message's reactions and reply-count changes, written with each change (EventTrace; never in a view). */
  event_trace?: EventTrace[];
}

export const MESSAGE_TYPES = ['regular', 'system'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];
/** sender_id of system messages: no external id can take it (external ids never hold '#'). */
export const SYSTEM_SENDER_ID = '#system';

export type MessageRecord = MessageDoc & { _id: Types.ObjectId };

const WrappedKeySchema = new Schema<WrappedKeyEntry>(
  {
    user_id: { type: String, required: true },
    device_id: { type: String, required: true },
    key_version: { type: Number, required: true },
    wrapped_key: { type: String, required: true },
  },
  { _id: false },
);

const ContentSchema = new Schema<MessageContent>(
  {
    type: { type: String, required: true },
    algorithm: { type: String, required: true },
    sender_device_id: { type: String, required: true },
    sender_key_version: { type: Number },
    ephemeral_public_key: { type: String },
    encrypted_data: { type: String, required: true },
    encrypted_key: { type: [WrappedKeySchema], default: undefined },
    signature: { type: String },
    version: { type: Number },
    group_id: { type: String },
    epoch: { type: Number },
    joined: { type: [new Schema({ user_id: String, device_id: String }, { _id: false })], default: undefined },
    franking_commitment: { type: String },
  },
  { _id: false },
);

const ReactionSchema = new Schema<Reaction>(
  {
    user_id: { type: String, required: true },
    emoji: { type: String, required: true },
    key: { type: String, required: true },
    created_at: { type: Date, required: true },
  },
  { _id: false },
);

export const MessageSchema = new Schema<MessageDoc>(
  {
    tenant_id: { type: String, required: true },
    conversation_id: { type: String, required: true },
    seq: { type: Number, required: true },
    sender_id: { type: String, required: true },
    client_msg_id: { type: String, required: true },
    content: { type: ContentSchema, default: null },
    preview: { type: String, default: null },
    search_tokens: { type: [String], default: [] },
    mentions: { type: [String], default: [] },
    reactions: { type: [ReactionSchema], default: [] },
    thread: {
      parent_id: { type: String, default: null },
      reply_count: { type: Number, default: 0 },
    },
    read_by: { type: [new Schema({ user_id: String, read_at: Date }, { _id: false })], default: [] },
    status: { type: String, enum: MESSAGE_STATUSES, default: 'sent' },
    gap: { type: Boolean, default: false },
    created_at: { type: Date, required: true },
    updated_at: { type: Date, required: true },
    edited_at: { type: Date, default: null },
    deleted_at: { type: Date, default: null },
    change_seq: { type: Number, default: 0 },
    type: { type: String, enum: MESSAGE_TYPES, default: 'regular' },
    text: { type: String, default: null },
    event_trace: eventTraceSchemaPath(),
  },
  { collection: 'messages', versionKey: false, minimize: false },
);

// Gap-free ordering and history/sync pages by seq (before/after a seq, newest first or oldest first).
MessageSchema.index({ tenant_id: 1, conversation_id: 1, seq: 1 }, { unique: true });
// A retried send (same conversation, sender and client_msg_id) can never create a second message.
// Prefixed by the messages shard key {tenant_id, conversation_id}, so it stays enforceable when sharded.
MessageSchema.index({ tenant_id: 1, conversation_id: 1, sender_id: 1, client_msg_id: 1 }, { unique: true });
// The non-unique indexes below are MongoDB's only (mongoOnlyIndex, libs/database): FerretDB pushes
// none of their ranges, dotted fields or sorts down to PostgreSQL, and its equalities as a containment
// no btree serves, so it never scans them (bench/src/ferretdb-message-indexes.ts) and they would be
// write cost only. The unique ones above stay everywhere: they enforce uniqueness.
// Time-ordered access (data model contract; retention and analytics jobs).
mongoOnlyIndex(MessageSchema, { tenant_id: 1, conversation_id: 1, created_at: 1 });
// Thread replies in order (FerretDB: 'thread.parent_id' is dotted and seq a range, neither pushed down).
mongoOnlyIndex(MessageSchema, { tenant_id: 1, conversation_id: 1, 'thread.parent_id': 1, seq: 1 });
// Changes since a client's position (sync / GET changes): edits, deletes, reactions in change order
// (FerretDB: change_seq is a range and the order a sort, neither pushed down).
mongoOnlyIndex(MessageSchema, { tenant_id: 1, conversation_id: 1, change_seq: 1 });
// Blind-index search: equality on one token, newest first (FerretDB: $all is not pushed down).
mongoOnlyIndex(MessageSchema, { tenant_id: 1, conversation_id: 1, search_tokens: 1, seq: -1 });
// FerretDB only: every read of a conversation's messages (history, sync, changes, replies, search,
// receipts) filters on conversation_id; with this GIN index PostgreSQL reads that conversation's rows
// instead of the whole table. At 100 conversations x 500 messages (bench/src/ferretdb-message-indexes.ts,
// issue 16, bench/RESULTS.md): the newest history page 234 -> 117 ms wall, PostgreSQL CPU 89 -> 16 ms per
// read (FerretDB's own ~150 ms, decoding the conversation's 500 messages, stays: it sorts in Go); a batch
// insert of 100 messages 24.8 -> 25.0 ms wall p50, PostgreSQL CPU 9.9 -> 10.1 ms (all eight btrees the
// schemas declare on `messages` cost it 29.5 ms and 14.8 ms). Adopted.
ferretDbEqualityIndexes(MessageSchema, ['conversation_id']);
MessageSchema.plugin(tenantGuardPlugin);

export const MESSAGE_MODEL = 'Message';
