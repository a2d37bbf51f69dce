import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Types } from 'mongoose';
import { AppConfig } from '@chat/config';
import type { RollupReportView } from '@chat/contracts';
import { BatchRef, BucketDelta, UsageRepository, UsageSource } from './usage.repository';
import { UsageRecorder } from './usage-recorder';

/**
 * Rolls `events` and `metrics` up into `aggregations` (daily and monthly buckets per tenant),
 * incrementally: each run starts after the watermark (the last source _id done) and never rescans
 * history. Sources younger than USAGE_ROLLUP_LAG_SECONDS are left for the next run, so an event
 * written late by a node with a slightly slow clock (ObjectIds carry the writer's time) is not skipped.
 *
 * Exactly once without transactions (FerretDB has none): a batch (after, to] is pinned in the watermark
 * document before anything is applied, so a re-run after a crash finishes that same batch, never a
 * longer one; its source documents are claimed (`rolled: <batch>`), so no other batch ever sums them
 * again; each bucket refuses a batch it has already seen; the watermark moves only after every bucket.
 */
@Injectable()
export class UsageRollupService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('UsageRollup');
  private timer?: NodeJS.Timeout;
  private running: Promise<RollupReportView> | null = null;

  constructor(
    private readonly repo: UsageRepository,
    private readonly recorder: UsageRecorder,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const every = this.config.USAGE_ROLLUP_INTERVAL_SECONDS;
    if (every > 0) {
      this.timer = setInterval(() => void this.rollup().catch((e: Error) => this.logger.warn(`usage roll-up failed: ${e.message}`)), every * 1000);
      this.timer.unref();
    }
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One run at a time per process (a second caller gets the running one). */
  rollup(opts: { lagSeconds?: number; batchSize?: number; maxBatches?: number } = {}): Promise<RollupReportView> {
    if (!this.running) this.running = this.repo.exclusiveRollup(() => this.run(opts)).finally(() => (this.running = null));
    return this.running;
  }

  private async run(opts: { lagSeconds?: number; batchSize?: number; maxBatches?: number }): Promise<RollupReportView> {
    const lag = opts.lagSeconds ?? this.config.USAGE_ROLLUP_LAG_SECONDS;
    const batchSize = opts.batchSize ?? this.config.USAGE_ROLLUP_BATCH_SIZE;
    const maxBatches = opts.maxBatches ?? 1000;
    // "Roll up now" includes what this node has counted but not written yet (other nodes flush on their interval).
    await this.recorder.flush();
    // Everything strictly before this ObjectId is old enough (createFromTime has second precision).
    const before = Types.ObjectId.createFromTime(Math.floor(Date.now() / 1000) - lag + (lag === 0 ? 1 : 0));
    // events, metrics: source documents counted by this run (each is counted by exactly one batch, ever);
    // skipped: buckets that had already seen a batch (a re-run after a crash, or another node).
    const report: RollupReportView = { events: 0, metrics: 0, batches: 0, buckets: 0, skipped: 0, watermark: null };
    for (const source of ['events', 'metrics'] as const) {
      let conflicts = 0;
      while (report.batches < maxBatches) {
        const { after, pending } = await this.repo.cursor(source);
        let batch: BatchRef & { claimed: boolean };
        let more = true;
        if (pending) {
          // A run stopped mid-batch (or another node is on it): finish exactly that batch.
          batch = { after, ...pending };
        } else {
          const ids = await this.repo.nextBatchIds(source, after, before, batchSize);
          if (!ids.length) break;
          batch = { batch: new Types.ObjectId(), after, to: ids[ids.length - 1], claimed: false };
          more = ids.length === batchSize;
          if (!(await this.repo.pinBatch(source, after, batch.batch, batch.to))) {
            // Another node pinned or finished a batch meanwhile: read where things stand again.
            if (++conflicts > 20) throw new Error(`usage roll-up of ${source}: the watermark keeps moving under this run`);
            continue;
          }
        }
        if (!batch.claimed) await this.repo.claim(source, batch.after, batch.to, batch.batch);
        const { buckets, skipped, documents } = await this.applyBatch(source, batch);
        report.buckets += buckets;
        report.skipped += skipped;
        report[source] += documents;
        await this.repo.finishBatch(source, batch.batch, batch.to);
        report.batches++;
        conflicts = 0;
        if (!more) break;
      }
      if (source === 'events') report.watermark = (await this.repo.watermark('events'))?.toHexString() ?? null;
    }
    return report;
  }

  /** Sums the documents the batch claimed and applies them to their buckets (each bucket at most once). */
  private async applyBatch(source: UsageSource, b: BatchRef): Promise<{ buckets: number; skipped: number; documents: number }> {
    const deltas = new Map<string, BucketDelta>();
    const bucket = (tenant: string, period: string, day?: string): BucketDelta => {
      const id = day ? `usage|${tenant}|${day}` : `usage|${tenant}|${period}`;
      let d = deltas.get(id);
      if (!d) deltas.set(id, (d = { id, kind: day ? 'usage_day' : 'usage_month', tenant_id: tenant, period, ...(day ? { day } : {}), inc: {}, max: {} }));
      return d;
    };
    const touchedMonths = new Set<string>();
    if (source === 'events') {
      for (const row of await this.repo.sumEvents(b)) {
        const f = row._id.type as 'messages_sent' | 'api_calls';
        for (const d of [bucket(row._id.tenant_id, row._id.period), bucket(row._id.tenant_id, row._id.period, row._id.day)]) d.inc[f] = (d.inc[f] ?? 0) + row.count;
      }
      const users = (await this.repo.activeUsers(b)).map((r) => r._id);
      await this.repo.markActiveUsers(users);
      for (const u of users) touchedMonths.add(`${u.tenant_id}|${u.period}`);
    } else {
      for (const row of await this.repo.maxMetrics(b)) {
        const f = row._id.name === 'connections' ? 'peak_connections' : 'storage_bytes';
        for (const d of [bucket(row._id.tenant_id, row._id.period), bucket(row._id.tenant_id, row._id.period, row._id.day)]) d.max[f] = Math.max(d.max[f] ?? 0, row.value);
      }
    }
    let buckets = 0;
    let skipped = 0;
    for (const d of deltas.values()) {
      if (await this.repo.applyDelta(d, b.to, source)) buckets++;
      else skipped++;
    }
    // MAU is a count of marker documents: recomputing it is exact and idempotent.
    for (const key of touchedMonths) {
      const [tenant, period] = key.split('|');
      await this.repo.setMonthActiveUsers(tenant, period, await this.repo.countActiveUsers(tenant, period));
    }
    return { buckets, skipped, documents: await this.repo.countClaimed(source, b) };
  }
}
