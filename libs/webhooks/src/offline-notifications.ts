import { Injectable, Logger, Optional } from '@nestjs/common';
import { ConversationsService } from '@chat/chat';
import { AppConfig } from '@chat/config';
import { PresenceTracker } from '@chat/realtime';
import { RedisService } from '@chat/redis';
import { TenantContext, TenantId } from '@chat/tenancy';
import { endpointWants } from './event-types';
import { StoredMessageMeta } from './message-events';
import { WebhookOutbox } from './webhook-outbox';

/**
 * `notification.offline`: one event per stored message per member (not the sender) with no connected
 * socket on any node, skipping members who muted the conversation. What a client backend needs to send
 * APNs/FCM/e-mail. Presence is read from the gateways' shared Redis records (PresenceTracker.statuses);
 * this instance never tracks sockets itself. Work is done only for tenants with an endpoint that wants it.
 */
@Injectable()
export class OfflineNotifications {
  private readonly logger = new Logger('WebhookOfflineNotifications');
  private readonly presence: PresenceTracker;

  constructor(
    private readonly outbox: WebhookOutbox,
    redis: RedisService,
    config: AppConfig,
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
    const mentioned = new Set(m.mentions);
    const rows = statuses
      .filter((s) => s.status === 'offline')
      .flatMap((s) =>
        this.outbox.rowsFor(
          {
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
              mentioned: mentioned.has(s.user_id),
              thread_parent_id: m.thread_parent_id,
              created_at: m.created_at.toISOString(),
            },
          },
          endpoints,
        ),
      );
    await this.outbox.insert(rows);
  }
}
