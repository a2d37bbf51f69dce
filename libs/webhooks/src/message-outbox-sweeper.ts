import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { Clock, systemClock } from './clock';
import { WebhookDeliveriesRepository } from './deliveries.repository';
import { WebhookEndpointsRepository } from './endpoints.repository';
import { endpointWants } from './event-types';
import { messageNewData } from './message-events';
import { SweptMessagesRepository } from './swept-messages.repository';
import { WebhookOutbox } from './webhook-outbox';
import { SweptMessageDoc } from './webhook.schemas';

/** A message's created_at is set before its batch commits: scans re-cover this much before their cursor. */
const OVERLAP_MS = 30_000;
const PAGE = 500;
/** Finished deliveries older than WEBHOOK_HISTORY_DAYS are deleted this often (by every node; deletes are idempotent). */
const PURGE_EVERY_MS = 3600_000;

/**
 * The crash half of the outbox for `message.new`. The fast path (ChatEventRelay) records the event
 * right after the message commits; a node killed between the two leaves a stored message with no
 * outbox row. Every node re-scans recent messages of tenants that have endpoints and inserts the rows
 * that are missing (deterministic ids: rows the fast path wrote are left alone). A node starts with
 * WEBHOOK_SWEEP_LOOKBACK_SECONDS of history, so a restart after a crash finds what it missed.
 */
@Injectable()
export class MessageOutboxSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WebhookSweeper');
  private clock: Clock = systemClock;
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
    private readonly outbox: WebhookOutbox,
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

  useClock(clock: Clock): void {
    this.clock = clock;
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
    for (const tenantId of await this.endpoints.tenantsWithActiveEndpoints()) {
      added += await TenantContext.run({ tenantId: asTenantId(tenantId), actor: { type: 'system', id: 'webhook-sweeper' } }, () => this.sweepTenant(tenantId));
    }
    return added;
  }

  private async sweepTenant(tenantId: string): Promise<number> {
    const endpoints = (await this.outbox.endpointsFor(tenantId, true)).filter((e) => endpointWants(e.events, 'message.new'));
    if (!endpoints.length) return 0;
    const now = this.clock.now();
    let from = new Date((this.cursors.get(tenantId) ?? now - this.config.WEBHOOK_SWEEP_LOOKBACK_SECONDS * 1000) - OVERLAP_MS);
    const to = new Date(now);
    let added = 0;
    for (;;) {
      const page = await this.messages.storedBetween(from, to, PAGE);
      added += await this.recordMissing(tenantId, page, endpoints);
      if (page.length < PAGE) break;
      const last = new Date(page[page.length - 1]!.created_at);
      // A page of one instant would loop forever: move past it (its rows were all recorded).
      from = last.getTime() > from.getTime() ? last : new Date(from.getTime() + 1);
    }
    this.cursors.set(tenantId, now);
    if (added) this.logger.warn(`recorded ${added} webhook event(s) of tenant ${tenantId} that the fast path had missed`);
    return added;
  }

  private async recordMissing(tenantId: string, page: SweptMessageDoc[], endpoints: Parameters<WebhookOutbox['rowsFor']>[1]): Promise<number> {
    const rows = page
      .filter((m) => !m.gap)
      .flatMap((m) =>
        this.outbox.rowsFor(
          {
            tenantId,
            type: 'message.new',
            key: String(m._id),
            occurredAt: new Date(m.created_at),
            data: messageNewData({
              id: String(m._id),
              conversation_id: m.conversation_id,
              seq: m.seq,
              sender_id: m.sender_id,
              type: m.content?.type ?? null,
              mentions: m.mentions ?? [],
              thread_parent_id: m.thread?.parent_id ?? null,
              created_at: new Date(m.created_at),
            }),
          },
          endpoints,
        ),
      );
    if (!rows.length) return 0;
    const existing = await this.deliveries.existingIds(rows.map((r) => r._id));
    return this.outbox.insert(rows.filter((r) => !existing.has(r._id)));
  }
}
