import type { FilterQuery, Model } from 'mongoose';
import { onlyDuplicateKeys, StoreDialect } from '@chat/database';
import type { WebhookDeliveryDoc } from './webhook.schemas';

const FREE = new Date(0);
/** A row's fields once no lease holds it. */
export const RELEASED = { lease_until: FREE, lease_owner: null, leased: false };

/**
 * The writes of pending rows that both repositories of outbox rows make (WebhookDeliveriesRepository,
 * ParkedRowsRepository; repository-side: built by them with their models, nothing else touches these):
 * a row's lease taken (claims), and finished rows moved to the log (`webhook_pending` to
 * `webhook_deliveries`, written there first and removed second: see WebhookDeliveriesRepository).
 */
export class PendingRowWrites {
  constructor(
    private readonly model: Model<WebhookDeliveryDoc>,
    private readonly log: Model<WebhookDeliveryDoc>,
    private readonly dialect: StoreDialect,
  ) {}

  /**
   * Leases to `token` the rows of `ids` that match (claimMany, claimOwn, claimParked): `all` for the rows together,
   * `each(id)` for one row at a time, as StoreDialect.changeEach takes them (one stamping updateMany and a
   * find by token on MongoDB, a conditional findOneAndUpdate per row under its lock on FerretDB).
   */
  takeLeases(ids: string[], now: Date, leaseMs: number, token: string, all: FilterQuery<WebhookDeliveryDoc>, each: (id: string) => FilterQuery<WebhookDeliveryDoc>): Promise<WebhookDeliveryDoc[]> {
    // A claimed row is no longer parked (a parked row's claim is conditional on `parked: true`: one claim wins).
    const lease = { $set: { lease_until: new Date(now.getTime() + leaseMs), lease_owner: token, leased: true, parked: false } };
    return this.dialect.changeEach('webhook_deliveries', ids, {
      many: async () => {
        const r = await this.model.updateMany({ _id: { $in: ids }, ...all }, lease).exec();
        if (!r.modifiedCount) return [];
        return (await this.model.find({ _id: { $in: ids }, lease_owner: token }).lean().exec()) as WebhookDeliveryDoc[];
      },
      one: async (id) => (await this.model.findOneAndUpdate({ _id: id, ...each(id) }, lease, { new: true }).lean().exec()) as WebhookDeliveryDoc | null,
    });
  }

  /**
   * Moves finished rows to the log: written there first, then removed from the pending rows where
   * `stillOurs` matches (a crash between the two leaves both, never neither). Returns how many left.
   */
  async moveToLog(rows: WebhookDeliveryDoc[], stillOurs: Record<string, unknown>): Promise<number> {
    await this.logRows(rows);
    // One row by bare _id (an index lookup on FerretDB); several by $in per endpoint: FerretDB does not
    // push an `_id $in` down, so it reads every pending row the rest of the filter lets through, and the
    // endpoint's equality (pushed down) keeps out the rows other endpoints have waiting — a dead endpoint
    // piles up thousands (bench/RESULTS.md, "Delivered rows leave webhook_pending by endpoint").
    // Rows that carry a bucket (drained, expired) by its equality too: a drain's delivered batch then reads
    // that bucket's rows, not every row the endpoint has parked.
    if (rows.length === 1) return (await this.model.deleteMany({ _id: rows[0]!._id, ...stillOurs }).exec()).deletedCount ?? 0;
    let deleted = 0;
    for (const [endpointId, bucket, ids] of idsByBucket(rows)) {
      const where = { _id: { $in: ids }, endpoint_id: endpointId, ...(bucket === undefined ? {} : { parked_bucket: bucket }), ...stillOurs };
      deleted += (await this.model.deleteMany(where).exec()).deletedCount ?? 0;
    }
    return deleted;
  }

  /**
   * Writes finished rows to the log: one insert; a row already there (a redelivery, a cancellation
   * overtaken by its attempt's outcome, a replay that crashed half-way) is replaced by the newer outcome.
   * The lease fields stay behind: a finished row has no lease, and a replay sets them afresh (requeue);
   * every field of every row goes through FerretDB into PostgreSQL beside the sends' own writes.
   */
  private async logRows(finished: WebhookDeliveryDoc[]): Promise<void> {
    // The parked mark stays behind too: a replayed row must not come back parked (ParkedEndpoints drains only what a record covers).
    const rows = finished.map(({ lease_until: _u, lease_owner: _o, leased: _l, parked: _p, parked_bucket: _b, parked_slot: _s, ...kept }) => kept);
    try {
      await this.log.collection.insertMany(rows as never[], { ordered: false });
    } catch (err) {
      const errors = (err as { writeErrors?: Array<{ index?: number; err?: { index?: number } }> }).writeErrors;
      if (!onlyDuplicateKeys(err)) throw err;
      // The rows that failed, by the errors' positions (a lone error without them: all, replacing is idempotent).
      const failed = Array.isArray(errors) ? errors.map((e) => e.index ?? e.err?.index ?? -1) : rows.map((_, i) => i);
      const redo = failed.some((i) => i < 0) ? rows : failed.map((i) => rows[i]!);
      for (const d of redo) await this.log.collection.replaceOne({ _id: d._id } as never, d as never, { upsert: true });
    }
  }
}

/** The rows' ids grouped by their endpoint and bucket (equalities FerretDB pushes down, unlike an `_id $in`; rows from the log carry no bucket). */
export function idsByBucket(rows: WebhookDeliveryDoc[]): Array<[string, string | undefined, string[]]> {
  const by = new Map<string, [string, string | undefined, string[]]>();
  for (const d of rows) {
    const k = `${d.endpoint_id}\u0000${d.parked_bucket ?? ''}`;
    const g = by.get(k);
    if (g) g[2].push(d._id);
    else by.set(k, [d.endpoint_id, d.parked_bucket, [d._id]]);
  }
  return [...by.values()];
}
