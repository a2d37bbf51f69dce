import { messageChangeKey, ReplyCountTraceData } from '@chat/chat';
import type { EventTrace } from '@chat/database';
import type { WebhookEventInput } from './webhook-outbox';
import type { SweptMessageDoc } from './webhook.schemas';

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

/** Event key of a `message.updated`: the message and the time of that change (an edit's edited_at, a reply count change's updated_at), shared by the fast path and the sweeper. */
export const messageUpdatedKey = messageChangeKey;

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

/** A message as the sweeper reads it with its traces: what a reply count `message.updated` carries besides the count. */
export interface TracedMessageMeta {
  _id: { toString(): string };
  conversation_id?: string;
  seq?: number;
  sender_id?: string | null;
  edited_at?: Date | null;
  thread?: { parent_id?: string | null; reply_count?: number } | null;
  event_trace?: EventTrace[];
}

/**
 * The `message.updated` data of a thread root's reply count changes still in its trace log
 * (replyCountTrace, libs/chat), with the data the fast path sends. A trace holds the change, not the
 * count: every change of reply_count is traced in order, so the count after one is the current count
 * minus the changes traced after it. `edited_at` is the message's, unless its latest edit came after
 * the change (the earlier edit time is not kept): then null.
 */
export function replyCountData(m: TracedMessageMeta): Map<EventTrace, Record<string, unknown>> {
  const out = new Map<EventTrace, Record<string, unknown>>();
  let count = m.thread?.reply_count ?? 0;
  for (const t of [...(m.event_trace ?? [])].reverse()) {
    if (t.type !== 'message.updated') continue;
    const d = t.data as unknown as ReplyCountTraceData;
    const at = new Date(t.at);
    const edited = m.edited_at && new Date(m.edited_at).getTime() <= at.getTime() ? new Date(m.edited_at).toISOString() : null;
    const data = messageUpdatedData({
      id: String(m._id),
      conversation_id: m.conversation_id ?? d.conversation_id,
      seq: m.seq ?? 0,
      sender_id: m.sender_id ?? null,
      edited_at: edited,
      thread_parent_id: m.thread?.parent_id ?? null,
      reply_count: count,
    });
    out.set(t, data);
    count -= Number(d.reply_count_change) || 0;
  }
  return out;
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

/** A stored message as the webhooks describe it (the fast path builds the same from the chat event). */
export function storedMessageMeta(m: SweptMessageDoc): StoredMessageMeta {
  return {
    id: String(m._id),
    conversation_id: m.conversation_id,
    seq: m.seq,
    sender_id: m.sender_id,
    type: m.content?.type ?? (m.type === 'system' ? 'system' : null),
    mentions: m.mentions ?? [],
    thread_parent_id: m.thread?.parent_id ?? null,
    created_at: new Date(m.created_at),
  };
}
