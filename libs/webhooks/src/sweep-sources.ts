import { HANDSHAKE_CONTENT_TYPE } from '@chat/chat';
import { fileEventData } from './file-event-relay';
import {
  conversationCreatedData,
  memberChangeData,
  memberChangeKey,
  messageDeletedData,
  messageNewData,
  messageUpdatedData,
  messageUpdatedKey,
  reportCreatedData,
  replyCountData,
  reportResolvedData,
  roleChangeData,
  roleChangeKey,
  traceEvent,
  storedMessageMeta,
} from './message-events';
import { OfflineNotifications, RecoveredOffline } from './offline-notifications';
import { MemberChangeItem, RoleChangeItem, SweepSource, TraceItem, tracedType } from './sweep-source';
import { SweptConversationsRepository, SweptMessagesRepository, SweptReportsRepository } from './swept-messages.repository';
import { SweptFileDoc, SweptFilesRepository, SweptTracesRepository, TRACED_COLLECTIONS, TracedCollection } from './swept-traces.repository';
import { SweptConversationDoc, SweptMessageDoc, SweptReportDoc } from './webhook.schemas';

/* The crash sweeper's sources (OutboxSweeper): for each kind of durable trace, how to page it and the event it gives. */

/** Conversations read per membership sweep (their change logs only), and documents per traced collection. */
const MEMBER_SWEEP_CAP = 10_000;
const TRACE_SWEEP_CAP = 10_000;

/** What the sources read (OutboxSweeper's repositories). */
export interface SweepStores {
  messages: SweptMessagesRepository;
  conversations: SweptConversationsRepository;
  reports: SweptReportsRepository;
  traces: SweptTracesRepository;
  files: SweptFilesRepository;
  offline: OfflineNotifications;
}

/** The logged membership changes of one kind in [from, to), oldest first (see SweptConversationsRepository). */
async function memberChanges(d: SweepStores, type: 'member.added' | 'member.removed', from: Date, to: Date): Promise<MemberChangeItem[]> {
  const items: MemberChangeItem[] = [];
  for (const c of await d.conversations.withMemberChangesBetween(from, to, MEMBER_SWEEP_CAP)) {
    for (const ch of c.member_changes ?? []) {
      const at = new Date(ch.at);
      const userIds = type === 'member.added' ? ch.added : ch.removed;
      if (at >= from && at < to && userIds?.length) items.push({ created_at: at, conversation_id: String(c._id), v: ch.v, user_ids: userIds, by: ch.by ?? null });
    }
  }
  return items.sort((a, b) => a.created_at.getTime() - b.created_at.getTime());
}

/** The logged role changes in [from, to), one item per member, oldest first. */
async function roleChanges(d: SweepStores, from: Date, to: Date): Promise<RoleChangeItem[]> {
  const items: RoleChangeItem[] = [];
  for (const c of await d.conversations.withMemberChangesBetween(from, to, MEMBER_SWEEP_CAP)) {
    for (const ch of c.member_changes ?? []) {
      const at = new Date(ch.at);
      if (at < from || at >= to) continue;
      for (const r of ch.roles ?? []) items.push({ created_at: at, conversation_id: String(c._id), v: ch.v, user_id: r.user_id, role: r.role, by: ch.by ?? null });
    }
  }
  return items.sort((a, b) => a.created_at.getTime() - b.created_at.getTime());
}

/** The event traces of one collection in [from, to), oldest first. */
async function tracesOf(d: SweepStores, collection: TracedCollection, from: Date, to: Date): Promise<TraceItem[]> {
  const items: TraceItem[] = [];
  let docs = await d.traces.between(collection, from, to, TRACE_SWEEP_CAP);
  if (collection === 'user_tombstones') docs = await d.traces.deletedTombstones(docs);
  for (const doc of docs) {
    // A reply count trace holds the change, not the count: its event is derived from the whole message.
    const replies = collection === 'messages' ? replyCountData(doc) : undefined;
    for (const t of doc.event_trace ?? []) {
      const at = new Date(t.at);
      if (at < from || at >= to) continue;
      if (collection === 'messages' && t.type === 'message.updated') items.push({ created_at: at, trace: { ...t, data: replies!.get(t)! }, type: t.type });
      else items.push({ created_at: at, trace: t, type: tracedType(collection, t, doc) });
    }
  }
  return items.sort((a, b) => a.created_at.getTime() - b.created_at.getTime());
}

/** Changes whose stored document is the durable record of the event, and the event each gives (same key as the fast path). */
export function sweepSources(d: SweepStores): SweepSource[] {
  return [
    {
      types: ['message.new'],
      page: (from, to, limit) => d.messages.storedBetween(from, to, limit),
      at: (item) => new Date(item.created_at),
      event: (tenantId, item) => {
        const m = item as SweptMessageDoc;
        if (m.gap || m.content?.type === HANDSHAKE_CONTENT_TYPE) return null;
        return {
          tenantId,
          type: 'message.new',
          key: String(m._id),
          occurredAt: new Date(m.created_at),
          data: messageNewData(storedMessageMeta(m)),
        };
      },
    },
    {
      types: ['message.updated'],
      page: (from, to, limit) => d.messages.editedBetween(from, to, limit),
      at: (item) => new Date((item as SweptMessageDoc).edited_at!),
      event: (tenantId, item) => {
        // Edits (edited_at); reply count changes are recovered from their traces (the traced messages' source).
        const m = item as SweptMessageDoc;
        if (m.gap || !m.edited_at) return null;
        const editedAt = new Date(m.edited_at).toISOString();
        return {
          tenantId,
          type: 'message.updated',
          key: messageUpdatedKey(String(m._id), editedAt),
          occurredAt: new Date(m.edited_at),
          data: messageUpdatedData({
            id: String(m._id),
            conversation_id: m.conversation_id,
            seq: m.seq,
            sender_id: m.sender_id ?? null,
            edited_at: editedAt,
            thread_parent_id: m.thread?.parent_id ?? null,
            reply_count: m.thread?.reply_count ?? 0,
          }),
        };
      },
    },
    {
      types: ['message.deleted'],
      page: (from, to, limit) => d.messages.deletedBetween(from, to, limit),
      at: (item) => new Date((item as SweptMessageDoc).deleted_at!),
      event: (tenantId, item) => {
        const m = item as SweptMessageDoc;
        // Gap fillers are tombstones from birth, not deletions.
        if (m.gap || !m.deleted_at) return null;
        const deletedAt = new Date(m.deleted_at);
        return {
          tenantId,
          type: 'message.deleted',
          key: String(m._id),
          occurredAt: deletedAt,
          data: messageDeletedData({ id: String(m._id), conversation_id: m.conversation_id, seq: m.seq, deleted_at: deletedAt.toISOString() }),
        };
      },
    },
    ...(['member.added', 'member.removed'] as const).map(
      (type): SweepSource => ({
        types: [type],
        page: (from, to) => memberChanges(d, type, from, to),
        at: (item) => item.created_at,
        event: (tenantId, item) => {
          const c = item as MemberChangeItem;
          return { tenantId, type, key: memberChangeKey(c.conversation_id, c.v), occurredAt: c.created_at, data: memberChangeData(c.conversation_id, c.user_ids, c.by) };
        },
      }),
    ),
    {
      types: ['moderation.report.created'],
      page: (from, to, limit) => d.reports.createdBetween(from, to, limit),
      at: (item) => new Date(item.created_at),
      event: (tenantId, item) => {
        const r = item as SweptReportDoc;
        return { tenantId, type: 'moderation.report.created', key: r._id.toHexString(), occurredAt: new Date(r.created_at), data: reportCreatedData(r) };
      },
    },
    {
      types: ['moderation.report.resolved'],
      page: (from, to, limit) => d.reports.resolvedBetween(from, to, limit),
      at: (item) => new Date((item as SweptReportDoc).resolution!.at),
      event: (tenantId, item) => {
        const r = item as SweptReportDoc;
        if (!r.resolution) return null;
        return { tenantId, type: 'moderation.report.resolved', key: r._id.toHexString(), occurredAt: new Date(r.resolution.at), data: reportResolvedData(r) };
      },
    },
    {
      types: ['member.role_changed'],
      page: (from, to) => roleChanges(d, from, to),
      at: (item) => item.created_at,
      event: (tenantId, item) => {
        const c = item as RoleChangeItem;
        return { tenantId, type: 'member.role_changed', key: roleChangeKey(c.conversation_id, c.v, c.user_id), occurredAt: c.created_at, data: roleChangeData(c.conversation_id, c.user_id, c.role, c.by) };
      },
    },
    ...(Object.keys(TRACED_COLLECTIONS) as TracedCollection[]).map(
      (collection): SweepSource => ({
        types: TRACED_COLLECTIONS[collection],
        page: (from, to) => tracesOf(d, collection, from, to),
        at: (item) => item.created_at,
        event: (tenantId, item) => traceEvent(tenantId, (item as TraceItem).trace, (item as TraceItem).type),
      }),
    ),
    {
      types: ['file.uploaded'],
      page: (from, to, limit) => d.files.confirmedBetween(from, to, limit),
      at: (item) => new Date((item as SweptFileDoc).confirmed_at!),
      event: (tenantId, item) => {
        const f = item as SweptFileDoc;
        return { tenantId, type: 'file.uploaded', key: String(f._id), occurredAt: new Date(f.confirmed_at!), data: fileEventData(f) };
      },
    },
    {
      types: ['file.deleted'],
      page: (from, to, limit) => d.files.removedBetween(from, to, limit),
      at: (item) => new Date((item as SweptFileDoc).deleted_at!),
      event: (tenantId, item) => {
        const f = item as SweptFileDoc;
        return { tenantId, type: 'file.deleted', key: String(f._id), occurredAt: new Date(f.deleted_at!), data: fileEventData(f) };
      },
    },
    {
      types: ['conversation.created'],
      at: (item) => new Date(item.created_at),
      page: (from, to, limit) => d.conversations.createdBetween(from, to, limit),
      event: (tenantId, item) => {
        const c = item as SweptConversationDoc;
        const id = String(c._id);
        return { tenantId, type: 'conversation.created', key: id, occurredAt: new Date(c.created_at), data: conversationCreatedData(id, c.type, (c.participants ?? []).map((p) => p.user_id)) };
      },
    },
    {
      // Last: it reads presence, and Redis being down fails the tenant's sweep (retried, cursor kept) after the others ran.
      types: ['notification.offline'],
      page: (from, to, limit) => d.offline.recoverBetween(from, to, limit),
      at: (item) => new Date(item.created_at),
      event: (_tenantId, item) => (item as RecoveredOffline).events,
    },
  ];
}
