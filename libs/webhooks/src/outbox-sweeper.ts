import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { Clock } from '@chat/clock';
import { WebhookDeliveriesRepository } from './deliveries.repository';
import { WebhookEndpointsRepository } from './endpoints.repository';
import { endpointWants } from './event-types';
import { FastPathWatermark } from './fast-path-watermark';
import { OfflineNotifications } from './offline-notifications';
import { OVERLAP_MS, RecorderHeartbeat } from './recorder-heartbeat';
import { SweepSource } from './sweep-source';
import { sweepSources } from './sweep-sources';
import { SweptConversationsRepository, SweptMessagesRepository, SweptReportsRepository } from './swept-messages.repository';
import { SweptFilesRepository, SweptTracesRepository } from './swept-traces.repository';
import { WebhookOutbox } from './webhook-outbox';
import { WebhookEndpointDoc } from './webhook.schemas';
export { tracedType } from './sweep-source';

const PAGE = 500;
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
  private runningLost?: Promise<number>;
  /** Passes run one at a time (a full pass asked for during a periodic one runs after it). */
  private tail: Promise<void> = Promise.resolve();
  private lastPurge = 0;
  /** When this process's last full pass started (Clock ms; a sweeping process runs one at start). */
  private lastFullPass: number;
  /** tenant -> created_at up to which this node has scanned. */
  private readonly cursors = new Map<string, number>();
  /** Changes whose stored document is the durable record of the event, and the event each gives (same key as the fast path). */
  private readonly sources: SweepSource[];

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
    private readonly watermark: FastPathWatermark,
    private readonly offline: OfflineNotifications,
    private readonly recorder: RecorderHeartbeat,
  ) {
    this.lastFullPass = clock.now();
    this.sources = sweepSources({ messages, conversations, reports, traces, files, offline });
  }

  onApplicationBootstrap(): void {
    const every = this.config.WEBHOOK_SWEEP_INTERVAL_MS;
    if (!every) return;
    // A starting node looks back WEBHOOK_SWEEP_LOOKBACK_SECONDS at once (a restart after a crash); then
    // it sweeps only what may have been lost (sweepLost).
    void this.sweep().catch((err: Error) => this.logger.warn(`webhook sweep failed: ${err.message}`));
    this.timer = setInterval(() => void this.sweepLost().catch((err: Error) => this.logger.warn(`webhook sweep failed: ${err.message}`)), every);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.tail;
  }

  /**
   * One full pass over every tenant with an endpoint, from where the last one stopped (at start, from
   * WEBHOOK_SWEEP_LOOKBACK_SECONDS back); returns how many rows it had to add. Its reads grow with the
   * window (on FerretDB v1, with the tenant's whole history: range filters are not pushed down).
   */
  sweep(): Promise<number> {
    this.running ??= this.serial(() => this.sweepAll()).finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * The periodic pass: only the windows in which a change may have been left unrecorded (docs/webhooks.md,
   * "What a sweep reads"): this process's own failed recordings, and the windows of recorders that died
   * (their heartbeat expired). While a process that cannot vouch for its changes runs (no chat event
   * bus), a full pass. With nothing lost it reads one tiny collection and no change.
   */
  sweepLost(): Promise<number> {
    this.runningLost ??= this.serial(() => this.sweepLostNow()).finally(() => (this.runningLost = undefined));
    return this.runningLost;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const p = this.tail.then(work);
    this.tail = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  private async sweepLostNow(): Promise<number> {
    const { live, dead } = await this.recorder.others();
    // A backstop for a write path that stores a change's trace without raising its event (none known): a
    // full pass every half lookback (30 min by default, where every sweep interval was one before).
    const backstop = this.clock.now() - this.lastFullPass >= (this.config.WEBHOOK_SWEEP_LOOKBACK_SECONDS * 1000) / 2;
    if (backstop || !this.watermark.recordsEvents || live.some((r) => !r.vouches)) return this.sweepAll();
    await this.purge();
    let added = 0;
    const now = this.clock.now();
    const failed = this.watermark.oldestFailure();
    if (failed !== undefined) {
      const r = await this.sweepWindow(new Date(failed - OVERLAP_MS), new Date(now));
      added += r.added;
      if (r.complete) this.recorder.covered(now);
    }
    const oldest = now - this.config.WEBHOOK_SWEEP_LOOKBACK_SECONDS * 1000;
    for (const d of dead) {
      // Never further back than the lookback: older rows may have been purged (WEBHOOK_HISTORY_DAYS).
      const r = await this.sweepWindow(new Date(Math.max(new Date(d.safe_before).getTime(), oldest)), new Date(now));
      added += r.added;
      if (r.complete) await this.recorder.forget(d);
    }
    return added;
  }

  private async purge(): Promise<void> {
    const now = this.clock.now();
    if (now - this.lastPurge >= PURGE_EVERY_MS) {
      this.lastPurge = now;
      await this.deliveries.purgeFinished(new Date(now - this.config.WEBHOOK_HISTORY_DAYS * 86400_000));
    }
  }

  private async sweepAll(): Promise<number> {
    const started = this.clock.now();
    this.lastFullPass = started;
    await this.purge();
    const r = await this.sweepWindow(undefined, new Date(started));
    // This process's own writes up to here are covered (a process without the fast path vouches by its sweeps).
    if (r.complete) this.recorder.covered(started);
    return r.added;
  }

  /** Every tenant with an endpoint, over [from, to) (from undefined: from each tenant's cursor, which then moves to `to`). */
  private async sweepWindow(from: Date | undefined, to: Date): Promise<{ added: number; complete: boolean }> {
    let added = 0;
    let complete = true;
    for (const tenantId of await this.outbox.tenantsWithEndpoints()) {
      // One tenant's failure (presence unreadable for notification.offline) keeps its cursor, so its next sweep covers the window again; the others go on.
      added += await TenantContext.run({ tenantId: asTenantId(tenantId), actor: { type: 'system', id: 'webhook-sweeper' } }, () => this.sweepTenant(tenantId, from, to)).catch((err: Error) => {
        this.logger.warn(`webhook sweep of tenant ${tenantId} failed: ${err.message}`);
        complete = false;
        return 0;
      });
    }
    return { added, complete };
  }

  private async sweepTenant(tenantId: string, windowFrom: Date | undefined, to: Date): Promise<number> {
    const all = await this.outbox.endpointsFor(tenantId, true);
    const from = windowFrom ?? new Date((this.cursors.get(tenantId) ?? to.getTime() - this.config.WEBHOOK_SWEEP_LOOKBACK_SECONDS * 1000) - OVERLAP_MS);
    let added = 0;
    for (const source of this.sources) {
      const endpoints = all.filter((e) => source.types.some((t) => endpointWants(e.events, t)));
      if (endpoints.length) added += await this.sweepSource(tenantId, source, endpoints, from, to);
    }
    if (!windowFrom) this.cursors.set(tenantId, to.getTime());
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

}
