import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { StoreDialect } from '@chat/database';
import type { BucketRef } from './parked-buckets';
import { PendingRowWrites, RELEASED } from './pending-row-writes';
import { WEBHOOK_DELIVERY_MODEL, WEBHOOK_PENDING_MODEL, WebhookDeliveryDoc } from './webhook.schemas';

/**
 * What ParkedEndpoints reads and writes of the outbox rows: rows parked for an endpoint's open circuit
 * (`parked: true` in webhook_pending), parked by a scan that found them free, read and claimed by a drain
 * or a probe; and an endpoint's waiting rows, parked or not, that its failed probe moves to the log as
 * dead letters. Rows parked at their insert or by a retry's outcome are written so by
 * WebhookDeliveriesRepository (insertNew, finish).
 */
@Injectable()
export class ParkedRowsRepository {
  private readonly writes: PendingRowWrites;

  constructor(
    @InjectModel(WEBHOOK_PENDING_MODEL) private readonly model: Model<WebhookDeliveryDoc>,
    @InjectModel(WEBHOOK_DELIVERY_MODEL) log: Model<WebhookDeliveryDoc>,
    private readonly dialect: StoreDialect,
  ) {
    this.writes = new PendingRowWrites(model, log, dialect);
  }

  /**
   * Up to `limit` ids of the endpoint's parked rows (ParkedEndpoints drains them), of one bucket when given.
   * Equalities only, no sort: FerretDB decodes the rows it returns; PostgreSQL filters the whole table (no
   * index serves FerretDB's jsonb containment, nor is the limit pushed down) and sends the matching rows:
   * one bucket's, or all the endpoint's. On MongoDB the index `{endpoint_id, parked, parked_slot, parked_bucket}`.
   */
  async parkedIds(endpointId: string, limit: number, bucket?: BucketRef): Promise<string[]> {
    const one = bucket ? { parked_slot: bucket.slot, parked_bucket: bucket.key } : {};
    const filter = { endpoint_id: endpointId, ...one, status: 'pending', parked: true };
    const rows = await this.model.find(filter, { _id: 1 }).limit(limit).lean().exec();
    return rows.map((d) => String(d._id));
  }

  /** Takes the leases of parked rows (whoever parked them): of several nodes draining one endpoint, one claim takes each row. */
  claimParked(ids: string[], now: Date, leaseMs: number, token: string): Promise<WebhookDeliveryDoc[]> {
    const parked = { status: 'pending', parked: true };
    return this.writes.takeLeases(ids, now, leaseMs, token, parked, () => parked);
  }

  /**
   * Parks rows a scan found free (or their lease run out) of an endpoint whose circuit is open
   * (ParkedEndpoints.parkFound), into the bucket `set` names, due at the probe: each only while no lease holds it, so of
   * this and a claim one wins (a claim's write, or this one under the row's lock on FerretDB). Nothing is
   * read back: a row a claim took first is simply not parked.
   */
  async parkFree(ids: string[], now: Date, set: { next_attempt_at: Date; parked_bucket: string; parked_slot: number }): Promise<void> {
    const free = { status: 'pending', parked: { $ne: true }, lease_until: { $lte: now } };
    const park = { $set: { ...set, ...RELEASED, parked: true, updated_at: now } };
    await this.dialect.changeEach('webhook_deliveries', ids, {
      many: async () => {
        await this.model.updateMany({ _id: { $in: ids }, ...free }, park).exec();
        return [];
      },
      one: async (id) => {
        await this.model.updateOne({ _id: id, ...free }, park).exec();
        return null;
      },
    });
  }

  /**
   * The endpoint's pending rows past their retry window that no other node holds (lease run out, or leased
   * by one of `owners`, this node's tokens) move to the log as dead letters, without an attempt (its circuit
   * is open). `where` picks what is read (FerretDB decodes only that): the rows not parked, the parked rows
   * of one slot of windows (ParkedBuckets), or all parked rows, of which those without a slot (parked before
   * buckets) count. One read, one log insert, one conditional delete (a row claimed meanwhile stays; its
   * outcome replaces the dead copy). Returns the ids that left and the buckets of the parked rows that stay.
   */
  async expireWaiting(endpointId: string, now: Date, owners: string[], lastError: string, where: 'unparked' | 'unbucketed' | { slot: number }): Promise<{ ids: string[]; left: string[] }> {
    const notHeldElsewhere = { $or: [{ lease_until: { $lte: now } }, { lease_owner: { $in: owners } }] };
    const base = { endpoint_id: endpointId, status: 'pending' };
    const filter =
      where === 'unparked'
        ? { ...base, parked: { $ne: true }, retry_until: { $lte: now }, ...notHeldElsewhere }
        : { ...base, parked: true, ...(where === 'unbucketed' ? {} : { parked_slot: where.slot }) };
    let read = (await this.model.find(filter).lean().exec()) as WebhookDeliveryDoc[];
    if (where === 'unbucketed') read = read.filter((d) => d.parked_slot === undefined);
    const t = now.getTime();
    const due = (d: WebhookDeliveryDoc) => new Date(d.retry_until).getTime() <= t && (new Date(d.lease_until).getTime() <= t || owners.includes(d.lease_owner ?? ''));
    const rows = read.filter(due);
    const left = where === 'unparked' ? [] : read.filter((d) => !due(d)).map((d) => d.parked_bucket ?? '');
    if (rows.length) {
      await this.writes.moveToLog(
        rows.map((d) => ({ ...d, status: 'dead' as const, last_error: lastError, updated_at: now, ...RELEASED })),
        notHeldElsewhere,
      );
    }
    return { ids: rows.map((d) => d._id), left };
  }
}
