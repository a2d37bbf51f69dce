import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Types } from 'mongoose';
import type { Model } from 'mongoose';
import {
  AGGREGATION_MODEL,
  AggregationDoc,
  USAGE_EVENT_MODEL,
  USAGE_METRIC_MODEL,
  UsageEventDoc,
  UsageEventType,
  UsageMetricDoc,
} from './usage.schemas';
import { isDuplicateKeyError } from '@chat/database';

export type NewUsageEvent = Omit<UsageEventDoc, '_id'>;
export type NewUsageMetric = Omit<UsageMetricDoc, '_id'>;

export interface BucketDelta {
  id: string;
  kind: 'usage_month' | 'usage_day';
  tenant_id: string;
  period: string;
  day?: string;
  inc: Partial<Record<'messages_sent' | 'api_calls', number>>;
  max: Partial<Record<'peak_connections' | 'storage_bytes', number>>;
}

/** The only door to `events`, `metrics` and `aggregations`. */
@Injectable()
export class UsageRepository {
  constructor(
    @InjectModel(USAGE_EVENT_MODEL) private readonly events: Model<UsageEventDoc>,
    @InjectModel(USAGE_METRIC_MODEL) private readonly metrics: Model<UsageMetricDoc>,
    @InjectModel(AGGREGATION_MODEL) private readonly aggregations: Model<AggregationDoc>,
  ) {}

  async insertEvents(docs: NewUsageEvent[]): Promise<void> {
    if (docs.length) await this.events.collection.insertMany(docs as never[], { ordered: false });
  }

  async insertMetrics(docs: NewUsageMetric[]): Promise<void> {
    if (docs.length) await this.metrics.collection.insertMany(docs as never[], { ordered: false });
  }

  async watermark(source: 'events' | 'metrics'): Promise<Types.ObjectId | null> {
    const w = await this.aggregations.collection.findOne({ _id: `watermark|${source}` } as never);
    return (w?.last_id as Types.ObjectId | undefined) ?? null;
  }

  async setWatermark(source: 'events' | 'metrics', lastId: Types.ObjectId): Promise<void> {
    // $max: a slower concurrent run can never move the watermark back.
    await this.aggregations.collection.updateOne(
      { _id: `watermark|${source}` } as never,
      { $max: { last_id: lastId }, $set: { kind: 'watermark', updated_at: new Date() } },
      { upsert: true },
    );
  }

  /** The ids of the next batch after the watermark, oldest first, none newer than `before`. */
  async nextBatchIds(source: 'events' | 'metrics', after: Types.ObjectId | null, before: Types.ObjectId, limit: number): Promise<Types.ObjectId[]> {
    const coll = source === 'events' ? this.events.collection : this.metrics.collection;
    const filter = { _id: after ? { $gt: after, $lt: before } : { $lt: before } };
    return (await coll.find(filter as never, { projection: { _id: 1 }, sort: { _id: 1 }, limit }).toArray()).map((d) => d._id as Types.ObjectId);
  }

  /** Counters of one batch, summed by tenant, type, day (an aggregation pipeline: $match + $group). */
  async sumEvents(from: Types.ObjectId, to: Types.ObjectId) {
    return this.events.collection
      .aggregate<{ _id: { tenant_id: string; type: UsageEventType; day: string; period: string }; count: number }>([
        { $match: { _id: { $gte: from, $lte: to }, type: { $in: ['messages_sent', 'api_calls'] } } },
        { $group: { _id: { tenant_id: '$tenant_id', type: '$type', day: '$day', period: '$period' }, count: { $sum: '$count' } } },
      ])
      .toArray();
  }

  /**
   * Distinct (tenant, month, user) of one batch, deduplicated here over the bounded batch: FerretDB v1
   * has no $addToSet, and its $group after $unwind loses the other fields of a compound _id.
   */
  async activeUsers(from: Types.ObjectId, to: Types.ObjectId) {
    const rows = await this.events.collection
      .find({ _id: { $gte: from, $lte: to }, type: 'active_users' }, { projection: { tenant_id: 1, period: 1, user_ids: 1 } })
      .toArray();
    const out = new Map<string, { _id: { tenant_id: string; period: string; user_id: string } }>();
    for (const r of rows) for (const u of (r.user_ids ?? []) as string[]) out.set(`${r.tenant_id}|${r.period}|${u}`, { _id: { tenant_id: r.tenant_id, period: r.period, user_id: u } });
    return [...out.values()];
  }

  /**
   * Highest gauge value of one batch by tenant, metric, day. Computed here over the (bounded) batch:
   * FerretDB v1 has no $max accumulator in $group.
   */
  async maxMetrics(from: Types.ObjectId, to: Types.ObjectId) {
    const rows = await this.metrics.collection
      .find({ _id: { $gte: from, $lte: to } }, { projection: { tenant_id: 1, name: 1, day: 1, period: 1, value: 1 } })
      .toArray();
    const out = new Map<string, { _id: { tenant_id: string; name: string; day: string; period: string }; value: number }>();
    for (const r of rows) {
      const key = `${r.tenant_id}|${r.name}|${r.day}`;
      const cur = out.get(key);
      if (!cur) out.set(key, { _id: { tenant_id: r.tenant_id, name: r.name, day: r.day, period: r.period }, value: r.value });
      else cur.value = Math.max(cur.value, r.value);
    }
    return [...out.values()];
  }

  /**
   * Applies one batch's delta to a bucket exactly once. The filter only matches a bucket that has not
   * seen this batch yet; if it has, the upsert collides on _id (E11000) and nothing changes. So a crash
   * between buckets and watermark, or two nodes rolling up at once, never double counts.
   */
  async applyDelta(d: BucketDelta, batchEnd: Types.ObjectId, source: 'events' | 'metrics'): Promise<boolean> {
    // One high-water mark per source: events and metrics batches end at unrelated ids.
    const mark = `applied_${source}`;
    const update: Record<string, unknown> = {
      $set: { [mark]: batchEnd, updated_at: new Date() },
      $setOnInsert: { kind: d.kind, tenant_id: d.tenant_id, period: d.period, ...(d.day ? { day: d.day } : {}) },
    };
    if (Object.keys(d.inc).length) update.$inc = d.inc;
    if (Object.keys(d.max).length) update.$max = d.max;
    try {
      await this.aggregations.collection.updateOne(
        { _id: d.id, $or: [{ [mark]: { $exists: false } }, { [mark]: { $lt: batchEnd } }] } as never,
        update,
        { upsert: true },
      );
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  /** Marks users active in a month (idempotent upserts). */
  async markActiveUsers(rows: Array<{ tenant_id: string; period: string; user_id: string }>): Promise<void> {
    if (!rows.length) return;
    await this.aggregations.collection.bulkWrite(
      rows.map((r) => ({
        updateOne: {
          filter: { _id: `au|${r.tenant_id}|${r.period}|${r.user_id}` } as never,
          update: { $setOnInsert: { kind: 'active_user', tenant_id: r.tenant_id, period: r.period, user_id: r.user_id } },
          upsert: true,
        },
      })),
      { ordered: false },
    );
  }

  async countActiveUsers(tenantId: string, period: string): Promise<number> {
    return this.aggregations.collection.countDocuments({ tenant_id: tenantId, kind: 'active_user', period });
  }

  async setMonthActiveUsers(tenantId: string, period: string, n: number): Promise<void> {
    await this.aggregations.collection.updateOne(
      { _id: `usage|${tenantId}|${period}` } as never,
      { $set: { active_users: n, updated_at: new Date() }, $setOnInsert: { kind: 'usage_month', tenant_id: tenantId, period } },
      { upsert: true },
    );
  }

  async month(tenantId: string, period: string): Promise<AggregationDoc | null> {
    return (await this.aggregations.collection.findOne({ _id: `usage|${tenantId}|${period}` } as never)) as AggregationDoc | null;
  }

  async days(tenantId: string, period: string): Promise<AggregationDoc[]> {
    return (await this.aggregations.collection.find({ tenant_id: tenantId, kind: 'usage_day', period }, { sort: { day: 1 } }).toArray()) as unknown as AggregationDoc[];
  }

  async tenantsWithUsage(period: string): Promise<string[]> {
    const rows = await this.aggregations.collection.find({ kind: 'usage_month', period }, { projection: { tenant_id: 1 } }).toArray();
    return [...new Set(rows.map((r) => String(r.tenant_id)))];
  }

  async watermarkTime(): Promise<Date | null> {
    const w = await this.watermark('events');
    return w ? w.getTimestamp() : null;
  }
}
