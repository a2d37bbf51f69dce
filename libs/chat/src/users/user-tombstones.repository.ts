import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Schema } from 'mongoose';
import { EventTrace, eventTraceSchemaPath } from '@chat/database';
import { tenantGuardPlugin, TenantConnectionResolver, TenantRepository } from '@chat/tenancy';

/**
 * The durable trace of a user's deletion (docs/webhooks.md, Durability): the user document is gone,
 * so the deletion's events (user.deleted, user.updated) are written here, under the user's write
 * lock, just before the delete. A tombstone whose user still exists (created before it) is a deletion
 * that never happened (the node died in between): the webhook sweeper skips it.
 */
export interface UserTombstoneDoc {
  tenant_id: string;
  external_id: string;
  deleted_at: Date;
  event_trace: EventTrace[];
}

export const USER_TOMBSTONE_MODEL = 'UserTombstone';
export const UserTombstoneSchema = new Schema<UserTombstoneDoc>(
  {
    tenant_id: { type: String, required: true },
    external_id: { type: String, required: true },
    deleted_at: { type: Date, required: true },
    event_trace: eventTraceSchemaPath(),
  },
  { collection: 'user_tombstones', versionKey: false, minimize: false, strict: true },
);
UserTombstoneSchema.index({ tenant_id: 1, 'event_trace.at': 1 });
UserTombstoneSchema.plugin(tenantGuardPlugin);

@Injectable()
export class UserTombstonesRepository extends TenantRepository<UserTombstoneDoc> {
  constructor(@InjectModel(USER_TOMBSTONE_MODEL) model: Model<UserTombstoneDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  async record(externalId: string, at: Date, traces: EventTrace[]): Promise<void> {
    await this.insertOne({ external_id: externalId, deleted_at: at, event_trace: traces });
  }
}
