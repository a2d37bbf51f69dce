import type { ConversationType, ParticipantRole, ConversationView as WireConversationView } from '@chat/contracts';
import type { ConversationDoc, ParticipantDoc } from './conversation.schema';
import type { ConversationRecord } from './conversations.repository';

/** A participant as cached for membership checks: no read positions (they change on every read). */
export interface ParticipantView {
  readonly user_id: string;
  readonly role: ParticipantRole;
  readonly joined_at: string;
  readonly joined_seq: number;
  readonly settings: { readonly muted: boolean; readonly pinned: boolean };
}

/**
 * The cached form of a conversation (requireMember returns it): membership, roles, metadata. Nothing
 * that changes per message (last_seq, last_message, read positions), so sends do not invalidate it.
 */
export interface ConversationView {
  readonly id: string;
  readonly type: ConversationType;
  readonly metadata: Readonly<ConversationDoc['metadata']>;
  readonly participants: readonly ParticipantView[];
  readonly created_by: string | null;
  readonly created_at: string;
}

/** What the API returns for a conversation, as seen by one member (the wire contract's ConversationView). */
export type ConversationResponse = WireConversationView;

const iso = (d: Date | string): string => new Date(d).toISOString();

export function toParticipantView(p: ParticipantDoc): ParticipantView {
  return {
    user_id: p.user_id,
    role: p.role,
    joined_at: iso(p.joined_at),
    joined_seq: p.joined_seq ?? 0,
    settings: { muted: Boolean(p.settings?.muted), pinned: Boolean(p.settings?.pinned) },
  };
}

export function toConversationView(doc: ConversationRecord): ConversationView {
  return {
    id: String(doc._id),
    type: doc.type,
    metadata: { name: doc.metadata?.name ?? null, avatar: doc.metadata?.avatar ?? null, description: doc.metadata?.description ?? null },
    participants: (doc.participants ?? []).map(toParticipantView),
    created_by: doc.created_by ?? null,
    created_at: iso(doc.created_at),
  };
}

/** The view for one member (or for the SaaS client when viewerId is null). */
export function toConversationResponse(doc: ConversationRecord, viewerId: string | null): ConversationResponse {
  const me = viewerId ? doc.participants.find((p) => p.user_id === viewerId) : undefined;
  const lm = doc.last_message;
  return {
    id: String(doc._id),
    type: doc.type,
    metadata: { name: doc.metadata?.name ?? null, avatar: doc.metadata?.avatar ?? null, description: doc.metadata?.description ?? null },
    participants: (doc.participants ?? []).map((p) => ({
      user_id: p.user_id,
      role: p.role,
      joined_at: iso(p.joined_at),
      last_read_seq: p.last_read_seq ?? 0,
      last_delivered_seq: p.last_delivered_seq ?? 0,
    })),
    member_count: doc.participants?.length ?? 0,
    last_seq: doc.last_seq ?? 0,
    last_message: lm ? { content_preview: lm.content_preview ?? null, sender_id: lm.sender_id, sent_at: iso(lm.sent_at), seq: lm.seq, message_id: lm.message_id } : null,
    unread_count: me ? Math.max(0, (doc.last_seq ?? 0) - Math.max(me.last_read_seq ?? 0, me.joined_seq ?? 0)) : 0,
    role: me?.role ?? null,
    settings: me ? { muted: Boolean(me.settings?.muted), pinned: Boolean(me.settings?.pinned) } : null,
    created_by: doc.created_by ?? null,
    created_at: iso(doc.created_at),
    updated_at: iso(doc.updated_at),
  };
}

export function findParticipant(view: ConversationView, userId: string): ParticipantView | undefined {
  return view.participants.find((p) => p.user_id === userId);
}
