import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Schema } from 'mongoose';
import { replaceOrInsert } from '@chat/database';

/**
 * One document per (endpoint, node) while that node may have rows of the endpoint parked (`parked: true`
 * in webhook_pending: waiting for the endpoint's circuit, left out of every due-rows scan): the node
 * renews `lease_until` while it lives. A document whose lease ran out is a node that died or stalled:
 * another node takes the endpoint over and drains its parked rows (ParkedEndpoints). A platform
 * collection of a few documents: one per failing endpoint per node.
 */
export interface ParkedEndpointDoc {
  /** `${endpoint_id}:${node}`. */
  _id: string;
  endpoint_id: string;
  tenant_id: string;
  node: string;
  lease_until: Date;
}

export const WEBHOOK_PARKED_ENDPOINT_MODEL = 'WebhookParkedEndpoint';
export const WebhookParkedEndpointSchema = new Schema<ParkedEndpointDoc>(
  {
    _id: { type: String, required: true },
    endpoint_id: { type: String, required: true },
    tenant_id: { type: String, required: true },
    node: { type: String, required: true },
    lease_until: { type: Date, required: true },
  },
  { collection: 'webhook_parked_endpoints', versionKey: false, _id: false },
);

/**
 * One document per bucket of parked rows (issue 14): a node parks a row of an endpoint only into a
 * bucket whose document is written already, so the drain and the expiry find every bucket here and then
 * query one bucket's rows by equality (`endpoint_id`, `parked_bucket`) instead of all the endpoint's
 * parked rows. A bucket belongs to one (endpoint, node) and one slot of retry windows: every row parked
 * into it has `retry_until` in [retry_from, retry_from + PARKED_SLOT_MS), so the expiry knows which
 * buckets hold rows past their window without reading a row. A platform collection of small documents:
 * about one per PARKED_BUCKET_ROWS parked rows.
 */
export interface ParkedBucketDoc {
  /** `${endpoint_id}:${key}`. */
  _id: string;
  endpoint_id: string;
  tenant_id: string;
  /** What the rows carry as `parked_bucket`: `${node}:${allocator}:${slot}:${n}`. */
  key: string;
  /** The allocator that parks rows into it (ParkedBuckets): its node deletes its documents when it drops its record. */
  owner: string;
  /** The slot of retry windows (PARKED_SLOT_MS): what the rows carry as `parked_slot`. */
  slot: number;
  retry_from: Date;
}

export const WEBHOOK_PARKED_BUCKET_MODEL = 'WebhookParkedBucket';
export const WebhookParkedBucketSchema = new Schema<ParkedBucketDoc>(
  {
    _id: { type: String, required: true },
    endpoint_id: { type: String, required: true },
    tenant_id: { type: String, required: true },
    key: { type: String, required: true },
    owner: { type: String, required: true },
    slot: { type: Number, required: true },
    retry_from: { type: Date, required: true },
  },
  { collection: 'webhook_parked_buckets', versionKey: false, _id: false },
);
WebhookParkedBucketSchema.index({ endpoint_id: 1 });

/**
 * The parked endpoints' records and their buckets. Writes by `_id` (FerretDB's `_id` index); reads of the
 * whole, tiny records collection, and of one endpoint's buckets by its equality (pushed down).
 */
@Injectable()
export class ParkedEndpointsRepository {
  constructor(
    @InjectModel(WEBHOOK_PARKED_ENDPOINT_MODEL) private readonly model: Model<ParkedEndpointDoc>,
    @InjectModel(WEBHOOK_PARKED_BUCKET_MODEL) private readonly buckets: Model<ParkedBucketDoc>,
  ) {}

  /** Writes (or renews) the node's record of the endpoint. */
  async hold(endpointId: string, tenantId: string, node: string, until: Date): Promise<void> {
    const doc: ParkedEndpointDoc = { _id: `${endpointId}:${node}`, endpoint_id: endpointId, tenant_id: tenantId, node, lease_until: until };
    // A renewal and a takeover's sweep may write one record at once (FerretDB: see replaceOrInsert).
    await replaceOrInsert(this.model.collection, doc);
  }

  /** Every record (a few: one per failing endpoint per node). */
  async all(): Promise<ParkedEndpointDoc[]> {
    return (await this.model.collection.find({}).toArray()) as unknown as ParkedEndpointDoc[];
  }

  /** Deletes the node's record of the endpoint; with `expiredBy`, only if its lease ran out by then (not renewed since it was read). */
  async remove(endpointId: string, node: string, expiredBy?: Date): Promise<void> {
    const id = `${endpointId}:${node}`;
    await this.model.collection.deleteOne((expiredBy ? { _id: id, lease_until: { $lte: expiredBy } } : { _id: id }) as never);
  }

  /** Writes a bucket's document (idempotent): rows may be parked into it once this answered. */
  async openBucket(doc: ParkedBucketDoc): Promise<void> {
    await replaceOrInsert(this.buckets.collection, doc);
  }

  /** The endpoint's buckets, earliest retry windows first. */
  async bucketsOf(endpointId: string): Promise<ParkedBucketDoc[]> {
    const docs = (await this.buckets.collection.find({ endpoint_id: endpointId } as never).toArray()) as unknown as ParkedBucketDoc[];
    return docs.sort((a, b) => a.slot - b.slot || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async removeBuckets(ids: string[]): Promise<void> {
    // One by bare `_id` each: an index look-up on FerretDB (an `_id $in` is not pushed down).
    for (const id of ids) await this.buckets.collection.deleteOne({ _id: id } as never);
  }

  /** Deletes the documents of one allocator's buckets (its node dropped the endpoint's record: nothing of it is parked). */
  async removeBucketsOf(endpointId: string, owner: string): Promise<void> {
    await this.buckets.collection.deleteMany({ endpoint_id: endpointId, owner } as never);
  }
}
