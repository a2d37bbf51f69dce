import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Schema } from 'mongoose';

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

/** The parked endpoints' records. Writes by `_id` (FerretDB's `_id` index); reads of the whole, tiny collection. */
@Injectable()
export class ParkedEndpointsRepository {
  constructor(@InjectModel(WEBHOOK_PARKED_ENDPOINT_MODEL) private readonly model: Model<ParkedEndpointDoc>) {}

  /** Writes (or renews) the node's record of the endpoint. */
  async hold(endpointId: string, tenantId: string, node: string, until: Date): Promise<void> {
    const doc: ParkedEndpointDoc = { _id: `${endpointId}:${node}`, endpoint_id: endpointId, tenant_id: tenantId, node, lease_until: until };
    await this.model.collection.replaceOne({ _id: doc._id } as never, doc as never, { upsert: true });
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
}
