import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Types } from 'mongoose';
import { AppConfig } from '@chat/config';
import { BucketDelta, UsageRepository } from './usage.repository';

export interface RollupReport {
  events: number;
  metrics: number;
  batches: number;
  buckets: number;
  /** Buckets that had already seen a batch (a re-run after a crash, or another node): not counted twice. */
  skipped: number;
  watermark: string | null;
}

/**
 * Rolls `events` and `metrics` up into `aggregations` (daily and monthly buckets per tenant),
 * incrementally: each run starts after the watermark (the last source _id done) and never rescans
 * history. Sources younger than USAGE_ROLLUP_LAG_SECONDS are left for the next run, so an event
 * written late by a node with a slightly slow clock (ObjectIds carry the writer's time) is not skipped.
 */
@Injectable()
export class UsageRollupService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('UsageRollup');
  private timer?: NodeJS.Timeout;
  private running: Promise<RollupReport> | null = null;

  constructor(
    private readonly repo: UsageRepository,
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
  rollup(opts: { lagSeconds?: number; batchSize?: number; maxBatches?: number } = {}): Promise<RollupReport> {
    if (!this.running) this.running = this.run(opts).finally(() => (this.running = null));
    return this.running;
  }

  private async run(opts: { lagSeconds?: number; batchSize?: number; maxBatches?: number }): Promise<RollupReport> {
    const lag = opts.lagSeconds ?? this.config.USAGE_ROLLUP_LAG_SECONDS;
    const batchSize = opts.batchSize ?? this.config.USAGE_ROLLUP_BATCH_SIZE;
    const maxBatches = opts.maxBatches ?? 1000;
    // Everything strictly before this ObjectId is old enough (createFromTime has second precision).
    const before = Types.ObjectId.createFromTime(Math.floor(Date.now() / 1000) - lag + (lag === 0 ? 1 : 0));
    const report: RollupReport = { events: 0, metrics: 0, batches: 0, buckets: 0, skipped: 0, watermark: null };
    for (const source of ['events', 'metrics'] as const) {
      let after = await this.repo.watermark(source);
      while (report.batches < maxBatches) {
        const ids = await this.repo.nextBatchIds(source, after, before, batchSize);
        if (!ids.length) break;
        const from = ids[0];
        const to = ids[ids.length - 1];
        const deltas = new Map<string, BucketDelta>();
        const bucket = (tenant: string, period: string, day?: string): BucketDelta => {
          const id = day ? `usage|${tenant}|${day}` : `usage|${tenant}|${period}`;
          let d = deltas.get(id);
          if (!d) deltas.set(id, (d = { id, kind: day ? 'usage_day' : 'usage_month', tenant_id: tenant, period, ...(day ? { day } : {}), inc: {}, max: {} }));
          return d;
        };
        const touchedMonths = new Set<string>();
        if (source === 'events') {
          for (const row of await this.repo.sumEvents(from, to)) {
            const f = row._id.type as 'messages_sent' | 'api_calls';
            for (const b of [bucket(row._id.tenant_id, row._id.period), bucket(row._id.tenant_id, row._id.period, row._id.day)]) b.inc[f] = (b.inc[f] ?? 0) + row.count;
          }
          const users = (await this.repo.activeUsers(from, to)).map((r) => r._id);
          await this.repo.markActiveUsers(users);
          for (const u of users) touchedMonths.add(`${u.tenant_id}|${u.period}`);
          report.events += ids.length;
        } else {
          for (const row of await this.repo.maxMetrics(from, to)) {
            const f = row._id.name === 'connections' ? 'peak_connections' : 'storage_bytes';
            for (const b of [bucket(row._id.tenant_id, row._id.period), bucket(row._id.tenant_id, row._id.period, row._id.day)]) b.max[f] = Math.max(b.max[f] ?? 0, row.value);
          }
          report.metrics += ids.length;
        }
        for (const d of deltas.values()) {
          if (await this.repo.applyDelta(d, to, source)) report.buckets++;
          else report.skipped++;
        }
        // MAU is a count of marker documents: recomputing it is exact and idempotent.
        for (const key of touchedMonths) {
          const [tenant, period] = key.split('|');
          await this.repo.setMonthActiveUsers(tenant, period, await this.repo.countActiveUsers(tenant, period));
        }
        await this.repo.setWatermark(source, to);
        after = to;
        report.batches++;
        if (ids.length < batchSize) break;
      }
      if (source === 'events') report.watermark = after?.toHexString() ?? null;
    }
    return report;
  }
}
