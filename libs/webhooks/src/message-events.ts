import type { EventTrace } from '@chat/database';
import type { WebhookEventInput } from './webhook-outbox';

/** What the webhooks read of a stored message: ids and metadata, never content. */
export interface StoredMessageMeta {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string;
  type: string | null;
  mentions: string[];
  thread_parent_id: string | null;
  created_at: Date;
}

/** The `message.new` data: ids and metadata a backend needs (never content, preview or search tokens). */
export function messageNewData(m: StoredMessageMeta): Record<string, unknown> {
  return {
    message_id: m.id,
    conversation_id: m.conversation_id,
    seq: m.seq,
    sender_id: m.sender_id,
    type: m.type,
    mentions: m.mentions,
    thread_parent_id: m.thread_parent_id,
    created_at: m.created_at.toISOString(),
  };
}

/** The `conversation.created` data (the same from the fast path and the sweeper). */
export function conversationCreatedData(conversationId: string, type: string | null, memberIds: string[]): Record<string, unknown> {
  return { conversation_id: conversationId, type, member_ids: memberIds };
}

/** Event key of a `message.updated`: the message and the time of that change (an edit's edited_at), shared by the fast path and the sweeper. */
export const messageUpdatedKey = (messageId: string, changedAt: string): string => `${messageId}@${changedAt}`;

/** The `message.updated` data (the same from the fast path and the sweeper). */
export function messageUpdatedData(m: {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string | null;
  edited_at: string | null;
  thread_parent_id: string | null;
  reply_count: number;
}): Record<string, unknown> {
  return {
    message_id: m.id,
    conversation_id: m.conversation_id,
    seq: m.seq,
    sender_id: m.sender_id,
    edited_at: m.edited_at,
    thread_parent_id: m.thread_parent_id,
    reply_count: m.reply_count,
  };
}

/** The `message.deleted` data (the same from the fast path and the sweeper); its event key is the message id. */
export function messageDeletedData(m: { id: string; conversation_id: string; seq: number; deleted_at: string }): Record<string, unknown> {
  return { message_id: m.id, conversation_id: m.conversation_id, seq: m.seq, deleted_at: m.deleted_at };
}

/** Event key of a logged membership change: the conversation and its participants_version after the change. */
export const memberChangeKey = (conversationId: string, version: number): string => `${conversationId}@v${version}`;

/** The `member.added` / `member.removed` data (the same from the fast path and the sweeper). */
export function memberChangeData(conversationId: string, userIds: string[], by: string | null): Record<string, unknown> {
  return { conversation_id: conversationId, user_ids: userIds, by };
}

/** Event key of a logged role change (MemberChangeDoc.roles): the change's version and the member. */
export const roleChangeKey = (conversationId: string, version: number, userId: string): string => `${memberChangeKey(conversationId, version)}:${userId}`;

/** The `member.role_changed` data (the same from the fast path and the sweeper). */
export function roleChangeData(conversationId: string, userId: string, role: string, by: string | null): Record<string, unknown> {
  return { conversation_id: conversationId, user_id: userId, role, by };
}

/** The outbox event of a change's trace (EventTrace), as the fast path and the sweeper both record it; `type` may refine the traced one (user.created). */
export function traceEvent(tenantId: string, t: EventTrace, type = t.type): WebhookEventInput {
  return { tenantId, type, key: t.key, occurredAt: new Date(t.at), data: t.data };
}

/** What the webhooks read of a message report (libs/reports): ids and metadata, never the reported payload or key. */
export interface ReportMeta {
  _id: { toHexString(): string };
  conversation_id: string;
  message_id: string;
  sender_id: string;
  reporter_id: string;
  reason: string;
  verified: boolean;
  status: string;
  resolution: { by: { type: string; id: string }; at: Date; actions: string[] } | null;
  created_at: Date;
}

/** The `moderation.report.created` data (the same from libs/reports and the sweeper); its key is the report id. */
export function reportCreatedData(r: ReportMeta): Record<string, unknown> {
  return {
    report_id: r._id.toHexString(),
    conversation_id: r.conversation_id,
    message_id: r.message_id,
    sender_id: r.sender_id,
    reporter_id: r.reporter_id,
    reason: r.reason,
    verified: r.verified,
    created_at: new Date(r.created_at).toISOString(),
  };
}

/** The `moderation.report.resolved` data (a resolved report); its key is the report id. */
export function reportResolvedData(r: ReportMeta): Record<string, unknown> {
  const res = r.resolution!;
  return {
    report_id: r._id.toHexString(),
    conversation_id: r.conversation_id,
    message_id: r.message_id,
    status: r.status,
    actions: res.actions,
    resolved_by: { type: res.by.type, id: res.by.id },
    resolved_at: new Date(res.at).toISOString(),
  };
}
