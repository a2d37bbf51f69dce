import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import { ChatEventBus, ChatEventMap, ChatEventName, HANDSHAKE_CONTENT_TYPE } from '@chat/chat';
import type { WebhookReactionEventData } from '@chat/contracts';
import type { EventTrace } from '@chat/database';
import { conversationCreatedData, memberChangeData, memberChangeKey, messageDeletedData, messageNewData, messageUpdatedData, messageUpdatedKey, roleChangeData, roleChangeKey, traceEvent } from './message-events';
import { FastPathWatermark } from './fast-path-watermark';
import { OfflineNotifications } from './offline-notifications';
import { WebhookEventInput, WebhookOutbox } from './webhook-outbox';

type View = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * The fast path of the outbox: chat events (raised once a write is durable) become outbox rows at once.
 * Never on the send path: the bus call returns at once and the insert runs after. Every event whose
 * change leaves a durable trace (the stored message or conversation, edited_at, deleted_at, the member
 * change log, an EventTrace written with the change) is also recovered by OutboxSweeper after a crash,
 * under the same event key (notification.offline too, to the members still unreached: docs/webhooks.md).
 */
@Injectable()
export class ChatEventRelay implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('WebhookRelay');
  private readonly off: Array<() => void> = [];

  constructor(
    private readonly outbox: WebhookOutbox,
    private readonly offline: OfflineNotifications,
    private readonly watermark: FastPathWatermark,
    // Every app has it (CoreModule; checked for the admin app alone): absent only in a context built without it.
    @Optional() private readonly bus?: ChatEventBus,
  ) {}

  onModuleInit(): void {
    const bus = this.bus;
    if (!bus) return;
    this.watermark.recordsEvents = true;
    const at = () => new Date();
    this.off.push(
      this.on(bus, 'message.created', ({ tenantId, conversationId, message: m }) => {
        const content = m.content as { type?: string } | null;
        // Gap tombstones and MLS commits (E2E v2 handshake entries of the stream) are not messages to notify of.
        if (m.gap === true || content?.type === HANDSHAKE_CONTENT_TYPE) return;
        const thread = m.thread as { parent_id?: string | null } | undefined;
        const meta = {
          id: String(m.id),
          conversation_id: conversationId,
          seq: Number(m.seq),
          sender_id: String(m.sender_id),
          // A system message has no envelope: its type is `system`.
          type: content?.type ?? (m.type === 'system' ? 'system' : null),
          mentions: (m.mentions as string[]) ?? [],
          thread_parent_id: thread?.parent_id ?? null,
          created_at: new Date(String(m.created_at)),
        };
        this.record({ tenantId, type: 'message.new', key: meta.id, occurredAt: meta.created_at, data: messageNewData(meta) });
        this.outbox.track(() => this.offline.record(tenantId, meta)).catch((err: Error) => this.logger.error(`could not record notification.offline: ${err.message}`));
      }),
      this.on(bus, 'message.updated', ({ tenantId, conversationId, message: m }) =>
        this.record({ tenantId, type: 'message.updated', key: messageUpdatedKey(String(m.id), String(m.updated_at)), occurredAt: at(), data: messageMeta(conversationId, m) }),
      ),
      this.on(bus, 'message.deleted', ({ tenantId, conversationId, messageId, seq, deleted_at }) =>
        this.record({ tenantId, type: 'message.deleted', key: messageId, occurredAt: at(), data: messageDeletedData({ id: messageId, conversation_id: conversationId, seq, deleted_at }) }),
      ),
      // A change written with its trace (EventTrace) is recorded as exactly that trace: the sweeper derives the same row.
      this.on(bus, 'reaction.added', ({ tenantId, conversationId, messageId, user_id, trace }) =>
        trace
          ? this.recordTrace(tenantId, trace)
          : this.record({ tenantId, type: 'reaction.new', key: randomUUID(), occurredAt: at(), data: { message_id: messageId, conversation_id: conversationId, user_id } satisfies WebhookReactionEventData }),
      ),
      this.on(bus, 'reaction.removed', ({ tenantId, conversationId, messageId, user_id, trace }) =>
        trace
          ? this.recordTrace(tenantId, trace)
          : this.record({ tenantId, type: 'reaction.deleted', key: randomUUID(), occurredAt: at(), data: { message_id: messageId, conversation_id: conversationId, user_id } satisfies WebhookReactionEventData }),
      ),
      this.on(bus, 'conversation.created', ({ tenantId, conversationId, member_ids, conversation }) =>
        this.record({
          tenantId,
          type: 'conversation.created',
          key: conversationId,
          occurredAt: typeof conversation.created_at === 'string' ? new Date(conversation.created_at) : at(),
          data: conversationCreatedData(conversationId, str(conversation.type), member_ids),
        }),
      ),
      this.on(bus, 'conversation.updated', ({ tenantId, conversationId, conversation, role_changed: rc, trace }) => {
        if (rc) {
          const key = rc.version === undefined ? randomUUID() : roleChangeKey(conversationId, rc.version, rc.user_id);
          this.record({ tenantId, type: 'member.role_changed', key, occurredAt: at(), data: roleChangeData(conversationId, rc.user_id, rc.role, rc.by ?? null) });
        } else if (trace) this.recordTrace(tenantId, trace);
        else this.record({ tenantId, type: 'conversation.updated', key: randomUUID(), occurredAt: at(), data: { conversation_id: conversationId, type: str(conversation.type) } });
      }),
      // A logged change (version given) is named by it, so the sweeper's row for the same change is the same row.
      this.on(bus, 'member.added', ({ tenantId, conversationId, user_ids, by, version }) =>
        this.record({
          tenantId,
          type: 'member.added',
          key: version === undefined ? randomUUID() : memberChangeKey(conversationId, version),
          occurredAt: at(),
          data: memberChangeData(conversationId, user_ids, by ?? null),
        }),
      ),
      this.on(bus, 'member.removed', ({ tenantId, conversationId, user_ids, by, version }) =>
        this.record({
          tenantId,
          type: 'member.removed',
          key: version === undefined ? randomUUID() : memberChangeKey(conversationId, version),
          occurredAt: at(),
          data: memberChangeData(conversationId, user_ids, by ?? null),
        }),
      ),
      this.on(bus, 'user.updated', ({ tenantId, user_id, created, trace }) =>
        trace
          ? this.recordTrace(tenantId, trace, created ? 'user.created' : trace.type)
          : this.record({ tenantId, type: created ? 'user.created' : 'user.updated', key: randomUUID(), occurredAt: at(), data: { user_id } }),
      ),
      this.on(bus, 'user.access_revoked', ({ tenantId, user_id, reason, trace }) => {
        // A ban is told as moderation.user_banned (below), not as a deactivation.
        if (reason === 'banned') return;
        if (trace) this.recordTrace(tenantId, trace);
        else this.record({ tenantId, type: reason === 'deleted' ? 'user.deleted' : 'user.deactivated', key: randomUUID(), occurredAt: at(), data: { user_id } });
      }),
      this.on(bus, 'moderation.action', ({ tenantId, type, key, occurred_at, data }) => this.record({ tenantId, type, key, occurredAt: new Date(occurred_at), data })),
      this.on(bus, 'event.traced', ({ tenantId, trace }) => this.recordTrace(tenantId, trace)),
    );
  }

  /** A handler that throws before its recording started leaves a change unrecorded: this process's next sweep covers it. */
  private on<K extends ChatEventName>(bus: ChatEventBus, name: K, handler: (payload: ChatEventMap[K]) => void): () => void {
    return bus.on(name, (payload) => {
      try {
        handler(payload);
      } catch (err) {
        this.watermark.noteFailure();
        throw err;
      }
    });
  }

  onModuleDestroy(): void {
    for (const off of this.off.splice(0)) off();
  }

  private recordTrace(tenantId: string, t: EventTrace, type = t.type): void {
    this.record(traceEvent(tenantId, t, type));
  }

  private record(e: WebhookEventInput): void {
    this.outbox.record(e).catch((err: Error) => this.logger.error(`could not record webhook event ${e.type}: ${err.message}`));
  }
}

function messageMeta(conversationId: string, m: View): Record<string, unknown> {
  const thread = m.thread as { parent_id?: string | null; reply_count?: number } | undefined;
  return messageUpdatedData({
    id: String(m.id),
    conversation_id: conversationId,
    seq: Number(m.seq),
    sender_id: str(m.sender_id),
    edited_at: str(m.edited_at),
    thread_parent_id: thread?.parent_id ?? null,
    reply_count: thread?.reply_count ?? 0,
  });
}
