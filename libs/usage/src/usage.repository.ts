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
import { isDuplicateKeyError, StoreDialect } from '@chat/database';

export type NewUsageEvent = Omit<UsageEventDoc, '_id'>;
export type NewUsageMetric = Omit<UsageMetricDoc, '_id'>;

export type UsageSource = 'events' | 'metrics';

/** One batch of a source: the documents of (after, to] that `batch` claimed. */
export interface BatchRef {
  batch: Types.ObjectId;
  after: Types.ObjectId | null;
  to: Types.ObjectId;
}

export interface RollupCursor {
  after: Types.ObjectId | null;
  /** A batch pinned but not finished (a run stopped after pinning it, or another node is on it). */
  pending: { batch: Types.ObjectId; to: Types.ObjectId; claimed: boolean } | null;
}

function range(after: Types.ObjectId | null, to: Types.ObjectId) {
  return after ? { $gt: after, $lte: to } : { $lte: to };
}

/**
 * Two nodes upserting the same new _id at once: one insert loses with E11000 (FerretDB does not retry
 * it as MongoDB does). The document exists by then, so the same upserts run again only update.
 */
async function retryUpsertRace<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    return write();
  }
}

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
    private readonly dialect: StoreDialect,
  ) {}

  /**
   * Runs a whole roll-up alone on FerretDB (this process, and others through the Redis lease), whose updates are not atomic (see
   * StoreDialect: a compare-and-set there can have two winners). On MongoDB it is a no-op: the
   * conditional updates below are atomic, which is what makes concurrent nodes safe.
   */
  exclusiveRollup<T>(fn: () => Promise<T>): Promise<T> {
    return this.dialect.serialised('aggregations', 'usage-rollup', fn);
  }

  async insertEvents(docs: NewUsageEvent[]): Promise<void> {
    if (docs.length) await this.events.collection.insertMany(docs as never[], { ordered: false });
  }

  async insertMetrics(docs: NewUsageMetric[]): Promise<void> {
    if (docs.length) await this.metrics.collection.insertMany(docs as never[], { ordered: false });
  }

  private source(source: UsageSource) {
    return source === 'events' ? this.events.collection : this.metrics.collection;
  }

  async watermark(source: UsageSource): Promise<Types.ObjectId | null> {
    return (await this.cursor(source)).after;
  }

  /** Where the roll-up of a source stands: the last source _id done, and the batch in flight if a run stopped mid-way. */
  async cursor(source: UsageSource): Promise<RollupCursor> {
    const w = await this.aggregations.collection.findOne({ _id: `watermark|${source}` } as never);
    const after = (w?.last_id as Types.ObjectId | undefined) ?? null;
    if (!w?.pending_batch) return { after, pending: null };
    return { after, pending: { batch: w.pending_batch as Types.ObjectId, to: w.pending_to as Types.ObjectId, claimed: Boolean(w.pending_claimed) } };
  }

  /**
   * Pins the next batch, (after, to], before anything is applied: a compare-and-set on the watermark
   * document, so only one node pins it and a re-run after a crash finds and finishes that same batch
   * instead of choosing a longer one. False: another node moved first (read the cursor again).
   */
  async pinBatch(source: UsageSource, after: Types.ObjectId | null, batch: Types.ObjectId, to: Types.ObjectId): Promise<boolean> {
    try {
      const r = await this.aggregations.collection.updateOne(
        { _id: `watermark|${source}`, last_id: after ?? { $exists: false }, pending_batch: { $exists: false } } as never,
        { $set: { kind: 'watermark', pending_batch: batch, pending_to: to, pending_claimed: false, updated_at: new Date() } },
        { upsert: true },
      );
      return r.modifiedCount + r.upsertedCount === 1;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  /**
   * Claims the unclaimed source documents of (after, to] for `batch`. A document belongs to the first
   * batch that claims it and is only ever summed under that batch, so no later batch (another node, a
   * replay from an older watermark) can count it again. Idempotent for the same batch.
   */
  async claim(source: UsageSource, after: Types.ObjectId | null, to: Types.ObjectId, batch: Types.ObjectId): Promise<void> {
    await this.source(source).updateMany({ _id: range(after, to), rolled: { $exists: false } } as never, { $set: { rolled: batch } });
    await this.aggregations.collection.updateOne({ _id: `watermark|${source}`, pending_batch: batch } as never, { $set: { pending_claimed: true } });
  }

  /** Moves the watermark past a finished batch (no-op if another node already did). */
  async finishBatch(source: UsageSource, batch: Types.ObjectId, to: Types.ObjectId): Promise<void> {
    await this.aggregations.collection.updateOne(
      { _id: `watermark|${source}`, pending_batch: batch } as never,
      { $set: { last_id: to, updated_at: new Date() }, $unset: { pending_batch: '', pending_to: '', pending_claimed: '' } },
    );
  }

  /** The ids of the next batch after the watermark, oldest first, none newer than `before`. */
  async nextBatchIds(source: UsageSource, after: Types.ObjectId | null, before: Types.ObjectId, limit: number): Promise<Types.ObjectId[]> {
    const filter = { _id: after ? { $gt: after, $lt: before } : { $lt: before } };
    return (await this.source(source).find(filter as never, { projection: { _id: 1 }, sort: { _id: 1 }, limit }).toArray()).map((d) => d._id as Types.ObjectId);
  }

  /** How many source documents a batch claimed. */
  async countClaimed(source: UsageSource, b: BatchRef): Promise<number> {
    return this.source(source).countDocuments({ _id: range(b.after, b.to), rolled: b.batch } as never);
  }

  /** Counters of one batch, summed by tenant, type, day (an aggregation pipeline: $match + $group). */
  async sumEvents(b: BatchRef) {
    return this.events.collection
      .aggregate<{ _id: { tenant_id: string; type: UsageEventType; day: string; period: string }; count: number }>([
        { $match: { _id: range(b.after, b.to), rolled: b.batch, type: { $in: ['messages_sent', 'api_calls'] } } },
        { $group: { _id: { tenant_id: '$tenant_id', type: '$type', day: '$day', period: '$period' }, count: { $sum: '$count' } } },
      ])
      .toArray();
  }

  /**
   * Distinct (tenant, month, user) of one batch, deduplicated here over the bounded batch: FerretDB v1
   * has no $addToSet, and its $group after $unwind loses the other fields of a compound _id.
   */
  async activeUsers(b: BatchRef) {
    const rows = await this.events.collection
      .find({ _id: range(b.after, b.to), rolled: b.batch, type: 'active_users' } as never, { projection: { tenant_id: 1, period: 1, user_ids: 1 } })
      .toArray();
    const out = new Map<string, { _id: { tenant_id: string; period: string; user_id: string } }>();
    for (const r of rows) for (const u of (r.user_ids ?? []) as string[]) out.set(`${r.tenant_id}|${r.period}|${u}`, { _id: { tenant_id: r.tenant_id, period: r.period, user_id: u } });
    return [...out.values()];
  }

  /**
   * Highest gauge value of one batch by tenant, metric, day. Computed here over the (bounded) batch:
   * FerretDB v1 has no $max accumulator in $group.
   */
  async maxMetrics(b: BatchRef) {
    const rows = await this.metrics.collection
      .find({ _id: range(b.after, b.to), rolled: b.batch } as never, { projection: { tenant_id: 1, name: 1, day: 1, period: 1, value: 1 } })
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
   * Applies one batch's delta to a bucket at most once. Batches of a source are pinned one after the
   * other with growing ends, and a node only pins the next after applying every bucket of the current
   * one; so a bucket whose mark is at or past `batchEnd` already has this batch. The filter refuses
   * it then: the upsert collides on _id (E11000) and nothing changes.
   */
  async applyDelta(d: BucketDelta, batchEnd: Types.ObjectId, source: UsageSource): Promise<boolean> {
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

  /**
   * Marks users active in a month (idempotent): inserts the marks not there yet. Not as one bulk of
   * `$setOnInsert` upserts: on FerretDB v1 (PostgreSQL) a bulk update of ~1,000 upserts whose
   * documents already exist (every roll-up after the first of a month) never finished and held all of
   * FerretDB's PostgreSQL connections, so every other query of the app waited with it
   * (test/usage-active-users.e2e-spec.ts). A look-up of the existing marks plus an insert of the
   * missing ones sends no update at all, on either store.
   */
  async markActiveUsers(rows: Array<{ tenant_id: string; period: string; user_id: string }>): Promise<void> {
    if (!rows.length) return;
    const docs = new Map(rows.map((r) => [`au|${r.tenant_id}|${r.period}|${r.user_id}`, r]));
    const have = new Set<string>();
    const ids = [...docs.keys()];
    for (let i = 0; i < ids.length; i += 1000) {
      const found = await this.aggregations.collection.find({ _id: { $in: ids.slice(i, i + 1000) } } as never, { projection: { _id: 1 } }).toArray();
      for (const d of found) have.add(String(d._id));
    }
    const missing = ids.filter((id) => !have.has(id)).map((id) => {
      const r = docs.get(id)!;
      return { _id: id, kind: 'active_user', tenant_id: r.tenant_id, period: r.period, user_id: r.user_id };
    });
    if (!missing.length) return;
    try {
      await this.aggregations.collection.insertMany(missing as never[], { ordered: false });
    } catch (err) {
      // Another node marked some of them in between: those are duplicates, the rest went in.
      if (!isDuplicateKeyError(err)) throw err;
    }
  }

  async countActiveUsers(tenantId: string, period: string): Promise<number> {
    return this.aggregations.collection.countDocuments({ tenant_id: tenantId, kind: 'active_user', period });
  }

  async setMonthActiveUsers(tenantId: string, period: string, n: number): Promise<void> {
    await retryUpsertRace(() =>
      this.aggregations.collection.updateOne(
        { _id: `usage|${tenantId}|${period}` } as never,
        { $set: { active_users: n, updated_at: new Date() }, $setOnInsert: { kind: 'usage_month', tenant_id: tenantId, period } },
        { upsert: true },
      ),
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
