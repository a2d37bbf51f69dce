import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { HANDSHAKE_CONTENT_TYPE } from '@chat/chat';
import { AppConfig } from '@chat/config';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { Clock } from '@chat/clock';
import { WebhookDeliveriesRepository } from './deliveries.repository';
import { WebhookEndpointsRepository } from './endpoints.repository';
import { endpointWants } from './event-types';
import type { EventTrace } from '@chat/database';
import { fileEventData } from './file-event-relay';
import { OfflineNotifications, RecoveredOffline } from './offline-notifications';
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
import { SweptConversationsRepository, SweptMessagesRepository, SweptReportsRepository } from './swept-messages.repository';
import { SweptFileDoc, SweptFilesRepository, SweptTraceDoc, SweptTracesRepository, TRACED_COLLECTIONS, TracedCollection } from './swept-traces.repository';
import { WebhookEventInput, WebhookOutbox } from './webhook-outbox';
import { SweptConversationDoc, SweptMessageDoc, SweptReportDoc, WebhookEndpointDoc } from './webhook.schemas';

/** A message's created_at is set before its batch commits: scans re-cover this much before their cursor. */
const OVERLAP_MS = 30_000;
const PAGE = 500;
/** Conversations read per membership sweep (their change logs only), and documents per traced collection. */
const MEMBER_SWEEP_CAP = 10_000;
const TRACE_SWEEP_CAP = 10_000;
/** Finished deliveries older than WEBHOOK_HISTORY_DAYS are deleted this often (by every node; deletes are idempotent). */
const PURGE_EVERY_MS = 3600_000;

/**
 * The crash half of the outbox: every change's durable trace (the stored message or conversation, a
 * tombstone's deleted_at, an edit's edited_at, the member change log, a report, a file's confirmed_at /
 * deleted_at, and the EventTraces written with other changes). The fast path (ChatEventRelay) records
 * the event right after the change; a node killed between the two leaves a change with no outbox row. Every node re-scans recent messages of tenants that have endpoints and inserts the rows
 * that are missing (deterministic ids: rows the fast path wrote are left alone). A node starts with
 * WEBHOOK_SWEEP_LOOKBACK_SECONDS of history, so a restart after a crash finds what it missed.
 */
@Injectable()
export class OutboxSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WebhookSweeper');
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private lastPurge = 0;
  /** tenant -> created_at up to which this node has scanned. */
  private readonly cursors = new Map<string, number>();

  constructor(
    private readonly config: AppConfig,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly messages: SweptMessagesRepository,
    private readonly conversations: SweptConversationsRepository,
    private readonly reports: SweptReportsRepository,
    private readonly traces: SweptTracesRepository,
    private readonly files: SweptFilesRepository,
    private readonly outbox: WebhookOutbox,
    private readonly clock: Clock,
    private readonly offline: OfflineNotifications,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.WEBHOOK_SWEEP_INTERVAL_MS;
    if (!every) return;
    this.timer = setInterval(() => void this.sweep().catch((err: Error) => this.logger.warn(`webhook sweep failed: ${err.message}`)), every);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }


  /** One pass over every tenant with an endpoint; returns how many rows it had to add. */
  sweep(): Promise<number> {
    this.running ??= this.sweepAll().finally(() => (this.running = undefined));
    return this.running;
  }

  private async sweepAll(): Promise<number> {
    const now = this.clock.now();
    if (now - this.lastPurge >= PURGE_EVERY_MS) {
      this.lastPurge = now;
      await this.deliveries.purgeFinished(new Date(now - this.config.WEBHOOK_HISTORY_DAYS * 86400_000));
    }
    let added = 0;
    for (const tenantId of await this.outbox.tenantsWithEndpoints()) {
      // One tenant's failure (presence unreadable for notification.offline) keeps its cursor, so its next sweep covers the window again; the others go on.
      added += await TenantContext.run({ tenantId: asTenantId(tenantId), actor: { type: 'system', id: 'webhook-sweeper' } }, () => this.sweepTenant(tenantId)).catch((err: Error) => {
        this.logger.warn(`webhook sweep of tenant ${tenantId} failed: ${err.message}`);
        return 0;
      });
    }
    return added;
  }

  private async sweepTenant(tenantId: string): Promise<number> {
    const all = await this.outbox.endpointsFor(tenantId, true);
    const now = this.clock.now();
    const from = new Date((this.cursors.get(tenantId) ?? now - this.config.WEBHOOK_SWEEP_LOOKBACK_SECONDS * 1000) - OVERLAP_MS);
    const to = new Date(now);
    let added = 0;
    for (const source of this.sources) {
      const endpoints = all.filter((e) => source.types.some((t) => endpointWants(e.events, t)));
      if (endpoints.length) added += await this.sweepSource(tenantId, source, endpoints, from, to);
    }
    this.cursors.set(tenantId, now);
    if (added) this.logger.warn(`recorded ${added} webhook event(s) of tenant ${tenantId} that the fast path had missed`);
    return added;
  }

  private async sweepSource(tenantId: string, source: SweepSource, endpoints: WebhookEndpointDoc[], start: Date, to: Date): Promise<number> {
    let added = 0;
    let from = start;
    for (;;) {
      const page = await source.page(from, to, PAGE);
      const rows = page.flatMap((item) => [source.event(tenantId, item) ?? []].flat().flatMap((e) => this.outbox.rowsFor(e, endpoints)));
      if (rows.length) {
        const existing = await this.deliveries.existingIds(rows.map((r) => r._id));
        added += await this.outbox.insert(rows.filter((r) => !existing.has(r._id)));
      }
      if (page.length < PAGE) return added;
      const last = source.at(page[page.length - 1]!);
      // A page of one instant would loop forever: move past it (its rows were all recorded).
      from = last.getTime() > from.getTime() ? last : new Date(from.getTime() + 1);
    }
  }

  /** The logged membership changes of one kind in [from, to), oldest first (see SweptConversationsRepository). */
  private async memberChanges(type: 'member.added' | 'member.removed', from: Date, to: Date): Promise<MemberChangeItem[]> {
    const items: MemberChangeItem[] = [];
    for (const c of await this.conversations.withMemberChangesBetween(from, to, MEMBER_SWEEP_CAP)) {
      for (const ch of c.member_changes ?? []) {
        const at = new Date(ch.at);
        const userIds = type === 'member.added' ? ch.added : ch.removed;
        if (at >= from && at < to && userIds?.length) items.push({ created_at: at, conversation_id: String(c._id), v: ch.v, user_ids: userIds, by: ch.by ?? null });
      }
    }
    return items.sort((a, b) => a.created_at.getTime() - b.created_at.getTime());
  }

  /** The logged role changes in [from, to), one item per member, oldest first. */
  private async roleChanges(from: Date, to: Date): Promise<RoleChangeItem[]> {
    const items: RoleChangeItem[] = [];
    for (const c of await this.conversations.withMemberChangesBetween(from, to, MEMBER_SWEEP_CAP)) {
      for (const ch of c.member_changes ?? []) {
        const at = new Date(ch.at);
        if (at < from || at >= to) continue;
        for (const r of ch.roles ?? []) items.push({ created_at: at, conversation_id: String(c._id), v: ch.v, user_id: r.user_id, role: r.role, by: ch.by ?? null });
      }
    }
    return items.sort((a, b) => a.created_at.getTime() - b.created_at.getTime());
  }

  /** The event traces of one collection in [from, to), oldest first. */
  private async tracesOf(collection: TracedCollection, from: Date, to: Date): Promise<TraceItem[]> {
    const items: TraceItem[] = [];
    let docs = await this.traces.between(collection, from, to, TRACE_SWEEP_CAP);
    if (collection === 'user_tombstones') docs = await this.traces.deletedTombstones(docs);
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
  private readonly sources: SweepSource[] = [
    {
      types: ['message.new'],
      page: (from, to, limit) => this.messages.storedBetween(from, to, limit),
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
      page: (from, to, limit) => this.messages.editedBetween(from, to, limit),
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
      page: (from, to, limit) => this.messages.deletedBetween(from, to, limit),
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
        page: (from, to) => this.memberChanges(type, from, to),
        at: (item) => item.created_at,
        event: (tenantId, item) => {
          const c = item as MemberChangeItem;
          return { tenantId, type, key: memberChangeKey(c.conversation_id, c.v), occurredAt: c.created_at, data: memberChangeData(c.conversation_id, c.user_ids, c.by) };
        },
      }),
    ),
    {
      types: ['moderation.report.created'],
      page: (from, to, limit) => this.reports.createdBetween(from, to, limit),
      at: (item) => new Date(item.created_at),
      event: (tenantId, item) => {
        const r = item as SweptReportDoc;
        return { tenantId, type: 'moderation.report.created', key: r._id.toHexString(), occurredAt: new Date(r.created_at), data: reportCreatedData(r) };
      },
    },
    {
      types: ['moderation.report.resolved'],
      page: (from, to, limit) => this.reports.resolvedBetween(from, to, limit),
      at: (item) => new Date((item as SweptReportDoc).resolution!.at),
      event: (tenantId, item) => {
        const r = item as SweptReportDoc;
        if (!r.resolution) return null;
        return { tenantId, type: 'moderation.report.resolved', key: r._id.toHexString(), occurredAt: new Date(r.resolution.at), data: reportResolvedData(r) };
      },
    },
    {
      types: ['member.role_changed'],
      page: (from, to) => this.roleChanges(from, to),
      at: (item) => item.created_at,
      event: (tenantId, item) => {
        const c = item as RoleChangeItem;
        return { tenantId, type: 'member.role_changed', key: roleChangeKey(c.conversation_id, c.v, c.user_id), occurredAt: c.created_at, data: roleChangeData(c.conversation_id, c.user_id, c.role, c.by) };
      },
    },
    ...(Object.keys(TRACED_COLLECTIONS) as TracedCollection[]).map(
      (collection): SweepSource => ({
        types: TRACED_COLLECTIONS[collection],
        page: (from, to) => this.tracesOf(collection, from, to),
        at: (item) => item.created_at,
        event: (tenantId, item) => traceEvent(tenantId, (item as TraceItem).trace, (item as TraceItem).type),
      }),
    ),
    {
      types: ['file.uploaded'],
      page: (from, to, limit) => this.files.confirmedBetween(from, to, limit),
      at: (item) => new Date((item as SweptFileDoc).confirmed_at!),
      event: (tenantId, item) => {
        const f = item as SweptFileDoc;
        return { tenantId, type: 'file.uploaded', key: String(f._id), occurredAt: new Date(f.confirmed_at!), data: fileEventData(f) };
      },
    },
    {
      types: ['file.deleted'],
      page: (from, to, limit) => this.files.removedBetween(from, to, limit),
      at: (item) => new Date((item as SweptFileDoc).deleted_at!),
      event: (tenantId, item) => {
        const f = item as SweptFileDoc;
        return { tenantId, type: 'file.deleted', key: String(f._id), occurredAt: new Date(f.deleted_at!), data: fileEventData(f) };
      },
    },
    {
      types: ['conversation.created'],
      at: (item) => new Date(item.created_at),
      page: (from, to, limit) => this.conversations.createdBetween(from, to, limit),
      event: (tenantId, item) => {
        const c = item as SweptConversationDoc;
        const id = String(c._id);
        return { tenantId, type: 'conversation.created', key: id, occurredAt: new Date(c.created_at), data: conversationCreatedData(id, c.type, (c.participants ?? []).map((p) => p.user_id)) };
      },
    },
    {
      // Last: it reads presence, and Redis being down fails the tenant's sweep (retried, cursor kept) after the others ran.
      types: ['notification.offline'],
      page: (from, to, limit) => this.offline.recoverBetween(from, to, limit),
      at: (item) => new Date(item.created_at),
      event: (_tenantId, item) => (item as RecoveredOffline).events,
    },
  ];
}

/** One logged membership change, as a sweep item (created_at: when it happened). */
interface MemberChangeItem {
  created_at: Date;
  conversation_id: string;
  v: number;
  user_ids: string[];
  by: string | null;
}

/** One logged role change of one member (MemberChangeDoc.roles). */
interface RoleChangeItem {
  created_at: Date;
  conversation_id: string;
  v: number;
  user_id: string;
  role: string;
  by: string | null;
}

/** One event trace (EventTrace) and the event type it gives. */
interface TraceItem {
  created_at: Date;
  trace: EventTrace;
  type: string;
}

/**
 * The event a trace gives: its own type, except a user's `user.updated` written by the write that
 * created the user (at its created_at), which is `user.created` (the fast path learns it from the upsert).
 */
export function tracedType(collection: TracedCollection, t: EventTrace, doc: SweptTraceDoc): string {
  if (collection === 'users' && t.type === 'user.updated' && doc.created_at && new Date(doc.created_at).getTime() === new Date(t.at).getTime()) return 'user.created';
  return t.type;
}

interface SweepSource {
  /** The event types it records (it runs for a tenant only when an endpoint wants one of them). */
  types: readonly string[];
  /** The items whose change time (see `at`) is in [from, to), oldest change first. */
  page(from: Date, to: Date, limit: number): Promise<Array<{ created_at: Date }>>;
  /** When the item's change happened: what `page` ranges and sorts on. */
  at(item: { created_at: Date }): Date;
  event(tenantId: string, item: { created_at: Date }): WebhookEventInput | WebhookEventInput[] | null;
}
