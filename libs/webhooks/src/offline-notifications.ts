import { Injectable, Logger, Optional } from '@nestjs/common';
import { ConversationsService, HANDSHAKE_CONTENT_TYPE } from '@chat/chat';
import { AppConfig } from '@chat/config';
import { PresenceStatus, PresenceTracker } from '@chat/realtime';
import { RedisService } from '@chat/redis';
import { TenantContext, TenantId } from '@chat/tenancy';
import { endpointWants } from './event-types';
import { StoredMessageMeta, storedMessageMeta } from './message-events';
import { SweptConversationsRepository, SweptMessagesRepository } from './swept-messages.repository';
import { WebhookEventInput, WebhookOutbox } from './webhook-outbox';
import { SweptMessageDoc } from './webhook.schemas';

/** What a notification.offline says of the conversation (the same from the fast path and the sweeper). */
interface ConversationMeta {
  type: string;
  metadata?: { name?: string | null } | null;
}

/** A stored message and the notification.offline events the sweeper recovers for it (OutboxSweeper source). */
export interface RecoveredOffline {
  created_at: Date;
  events: WebhookEventInput[];
}

/**
 * `notification.offline`: one event per stored message per member (not the sender) with no connected
 * socket on any node, skipping members who muted the conversation. What a client backend needs to send
 * APNs/FCM/e-mail. Presence is read from the gateways' shared Redis records (PresenceTracker.statuses);
 * this instance never tracks sockets itself. Work is done only for tenants with an endpoint that wants it.
 *
 * Fast path (`record`): right after the message is stored. Crash path (`recoverBetween`, run by the
 * OutboxSweeper): for the stored messages of a sweep window, the members who by then still have not
 * received the message, named by the same key, so the two paths make one row (docs/webhooks.md).
 */
@Injectable()
export class OfflineNotifications {
  private readonly logger = new Logger('WebhookOfflineNotifications');
  private readonly presence: PresenceTracker;

  constructor(
    private readonly outbox: WebhookOutbox,
    redis: RedisService,
    config: AppConfig,
    private readonly storedMessages: SweptMessagesRepository,
    private readonly storedConversations: SweptConversationsRepository,
    @Optional() private readonly conversations?: ConversationsService,
  ) {
    this.presence = new PresenceTracker(redis, { nodeTtlMs: config.PRESENCE_NODE_TTL_MS });
  }

  async record(tenantId: TenantId, m: StoredMessageMeta): Promise<void> {
    if (!this.conversations) return;
    const endpoints = (await this.outbox.endpointsFor(tenantId)).filter((e) => endpointWants(e.events, 'notification.offline'));
    if (!endpoints.length) return;
    const conv = await TenantContext.run({ tenantId, actor: { type: 'system', id: 'webhooks' } }, () => this.conversations!.requireMember(m.conversation_id, m.sender_id));
    const candidates = conv.participants.filter((p) => p.user_id !== m.sender_id && !p.settings?.muted).map((p) => p.user_id);
    if (!candidates.length) return;
    let statuses;
    try {
      statuses = await this.presence.statuses(tenantId, candidates);
    } catch (err) {
      // Unknown presence is not "offline": better no push than a push to everyone.
      this.logger.warn(`presence unavailable, no notification.offline for message ${m.id}: ${(err as Error).message}`);
      return;
    }
    const rows = statuses.filter((s) => s.status === 'offline').flatMap((s) => this.outbox.rowsFor(offlineEvent(tenantId, m, conv, s), endpoints));
    await this.outbox.insert(rows);
  }

  /**
   * The sweeper's half, for the tenant in context: the messages stored in [from, to) (oldest first, at
   * most `limit`: one item per message, so the sweeper pages on them) and, for each, a notification.offline
   * for every member who still has not received it: not the sender, not muted, no delivery receipt for it
   * (last_delivered_seq below its seq), no connected socket now, and not seen since it was stored (last
   * seen before its created_at, or never): a member who connected since got it from the stream. Those
   * were offline when it was stored too, so the fast path made the same events (same keys: one row each)
   * unless the node died first. No read on the send path: the stored message is the durable record.
   * Presence that cannot be read throws (the sweep of the tenant is retried), never "everyone offline".
   */
  async recoverBetween(from: Date, to: Date, limit: number): Promise<RecoveredOffline[]> {
    const tenantId = TenantContext.requireTenantId('webhook-offline-sweep');
    const stored = await this.storedMessages.storedBetween(from, to, limit);
    const messages = stored.filter((m) => !m.gap && m.content?.type !== HANDSHAKE_CONTENT_TYPE);
    const convs = await this.storedConversations.membersOf(messages.map((m) => m.conversation_id));
    const unreached = new Map<SweptMessageDoc, string[]>();
    for (const m of messages) {
      const c = convs.get(m.conversation_id);
      const ids = (c?.participants ?? []).filter((p) => p.user_id !== m.sender_id && !p.settings?.muted && (p.last_delivered_seq ?? 0) < m.seq).map((p) => p.user_id);
      if (ids.length) unreached.set(m, ids);
    }
    const users = [...new Set([...unreached.values()].flat())];
    const presence = new Map((users.length ? await this.presence.statuses(tenantId, users) : []).map((s) => [s.user_id, s]));
    return stored.map((m) => {
      const created = new Date(m.created_at);
      const c = convs.get(m.conversation_id);
      const events = (unreached.get(m) ?? [])
        .map((u) => presence.get(u)!)
        .filter((s) => s.status === 'offline' && (s.last_seen === null || new Date(s.last_seen).getTime() < created.getTime()))
        .map((s) => offlineEvent(tenantId, storedMessageMeta(m), c!, s));
      return { created_at: created, events };
    });
  }
}

/** One member's notification.offline of one message; its key (message and recipient) names it for both paths. */
function offlineEvent(tenantId: string, m: StoredMessageMeta, conv: ConversationMeta, s: PresenceStatus): WebhookEventInput {
  return {
    tenantId,
    type: 'notification.offline',
    key: `${m.id}:${s.user_id}`,
    occurredAt: m.created_at,
    data: {
      recipient_id: s.user_id,
      last_seen: s.last_seen,
      message_id: m.id,
      conversation_id: m.conversation_id,
      conversation_type: conv.type,
      conversation_name: conv.metadata?.name ?? null,
      seq: m.seq,
      sender_id: m.sender_id,
      type: m.type,
      mentioned: m.mentions.includes(s.user_id),
      thread_parent_id: m.thread_parent_id,
      created_at: m.created_at.toISOString(),
    },
  };
}
