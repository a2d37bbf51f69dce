import { Schema } from 'mongoose';
import { CONVERSATION_TYPES, PARTICIPANT_ROLES, type ConversationType, type ParticipantRole } from '@chat/contracts';
import { eventTraceSchemaPath, mongoOnlyIndex, type EventTrace } from '@chat/database';
import { tenantGuardPlugin } from '@chat/tenancy';

export const CONVERSATION_MODEL = 'Conversation';

export interface ParticipantDoc {
  user_id: string;
  role: ParticipantRole;
  joined_at: Date;
  /** last_seq when the user joined: messages up to it were not addressed to them. */
  joined_seq: number;
  last_read_seq: number;
  last_delivered_seq: number;
  settings: { muted: boolean; pinned: boolean };
}

export interface LastMessageDoc {
  /** Ciphertext preview chosen by the sender's client (the server never sees plaintext). */
  content_preview: string | null;
  sender_id: string;
  sent_at: Date;
  seq: number;
  message_id: string;
}

/**
 * One membership change, written in the same compare-and-set as the participants it changed: the
 * durable trace the webhook sweeper turns into member.added / member.removed / member.role_changed after a crash
 * (libs/webhooks OutboxSweeper). `v` is participants_version after the change.
 */
export interface MemberChangeDoc {
  v: number;
  added: string[];
  removed: string[];
  /** The acting user; null when the client's server (or the platform) did it. */
  by: string | null;
  at: Date;
  /** Members whose role this change set (member.role_changed); absent on membership changes. */
  roles?: Array<{ user_id: string; role: ParticipantRole }>;
}

/** How many membership changes a conversation keeps (the sweeper only looks back WEBHOOK_SWEEP_LOOKBACK_SECONDS). */
export const MEMBER_CHANGES_KEPT = 20;

export interface ConversationDoc {
  tenant_id: string;
  type: ConversationType;
  /** direct: JSON of the two sorted external ids (one conversation per pair); others: `id:<_id>` (unique filler: FerretDB has no partial indexes). */
  direct_key: string;
  participants: ParticipantDoc[];
  metadata: { name: string | null; avatar: string | null; description: string | null };
  /** Highest message seq handed out (reserveSeqs). Unread for a participant = last_seq - last_read_seq. */
  last_seq: number;
  last_message: LastMessageDoc | null;
  /** When seqs were last reserved: dates the seqs at the end of the stream that hold no message yet. */
  last_reserved_at?: Date | null;
  /** Highest change position handed out (nextChangeSeq): every edit, delete or reaction of a message takes one. */
  last_change_seq?: number;
  /**
   * Bumped by every write to `participants`: membership changes are compare-and-set on it (FerretDB v1
   * has no positional `$` update, `$elemMatch` or partial `$pull`), per-participant updates address
   * `participants.<i>` guarded by `participants.<i>.user_id`.
   */
  participants_version: number;
  /** The latest membership changes, oldest first (at most MEMBER_CHANGES_KEPT); absent before the first. */
  member_changes?: MemberChangeDoc[];
  /** Webhook events of other changes (conversation.updated), written with each (EventTrace; never in a view). */
  event_trace?: EventTrace[];
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

const ParticipantSchema = new Schema<ParticipantDoc>(
  {
    user_id: { type: String, required: true },
    role: { type: String, enum: PARTICIPANT_ROLES, required: true },
    joined_at: { type: Date, required: true },
    joined_seq: { type: Number, default: 0 },
    last_read_seq: { type: Number, default: 0 },
    last_delivered_seq: { type: Number, default: 0 },
    settings: {
      muted: { type: Boolean, default: false },
      pinned: { type: Boolean, default: false },
    },
  },
  { _id: false },
);

const LastMessageSchema = new Schema<LastMessageDoc>(
  {
    content_preview: { type: String, default: null },
    sender_id: { type: String, required: true },
    sent_at: { type: Date, required: true },
    seq: { type: Number, required: true },
    message_id: { type: String, required: true },
  },
  { _id: false },
);

export const ConversationSchema = new Schema<ConversationDoc>(
  {
    tenant_id: { type: String, required: true },
    type: { type: String, enum: CONVERSATION_TYPES, required: true },
    direct_key: { type: String, required: true },
    participants: { type: [ParticipantSchema], default: [] },
    metadata: {
      name: { type: String, default: null },
      avatar: { type: String, default: null },
      description: { type: String, default: null },
    },
    last_seq: { type: Number, default: 0 },
    last_message: { type: LastMessageSchema, default: null },
    last_change_seq: { type: Number, default: 0 },
    last_reserved_at: { type: Date, default: null },
    participants_version: { type: Number, default: 0 },
    member_changes: {
      type: [new Schema<MemberChangeDoc>({ v: Number, added: [String], removed: [String], by: { type: String, default: null }, at: Date, roles: { type: [new Schema({ user_id: String, role: String }, { _id: false })], default: undefined } }, { _id: false })],
      default: undefined,
    },
    event_trace: eventTraceSchemaPath(),
    created_by: { type: String, default: null },
    created_at: { type: Date, required: true },
    updated_at: { type: Date, required: true },
  },
  { collection: 'conversations', versionKey: false, minimize: false, strict: true },
);

// The two non-unique indexes are MongoDB's only (mongoOnlyIndex, libs/database): FerretDB pushes down
// neither the dotted member field nor the sort, and `type` as a containment no btree serves, so it never
// scans them (bench/src/ferretdb-message-indexes.ts), while the last_message flush rewrites them at
// every send (FerretDB's updates rewrite the whole document). The unique one stays everywhere.
// "My conversations, newest activity first": equality on the member, then the cursor order.
mongoOnlyIndex(ConversationSchema, { tenant_id: 1, 'participants.user_id': 1, updated_at: -1, _id: -1 });
ConversationSchema.index({ tenant_id: 1, direct_key: 1 }, { unique: true });
// Channel directory (any user may join a channel).
mongoOnlyIndex(ConversationSchema, { tenant_id: 1, type: 1, updated_at: -1, _id: -1 });
ConversationSchema.plugin(tenantGuardPlugin);

export function directKeyFor(a: string, b: string): string {
  return JSON.stringify([a, b].sort());
}
