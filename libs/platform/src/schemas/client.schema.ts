import { Schema, Types } from 'mongoose';
import type { TenantQuotas } from '@chat/contracts';

export type TenantStatus = 'active' | 'suspended' | 'deleted';

/** A SaaS client (tenant). Its `_id` (hex) is the tenant id every tenant-owned document carries. */
export interface ClientDoc {
  _id: Types.ObjectId;
  name: string;
  plan: string;
  status: TenantStatus;
  region: string;
  /** Overrides of the plan's quotas, field by field. */
  quotas: Partial<TenantQuotas>;
  metadata?: Record<string, unknown>;
  suspended_at?: Date | null;
  suspension_reason?: string | null;
  deleted_at?: Date | null;
  /** When the last complete export (admin API) started: a delete needs one taken since the suspension. */
  exported_at?: Date | null;
  /** When the tenant's data was erased (after the delete); null while the erase has not finished. */
  erased_at?: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const CLIENT_MODEL = 'PlatformClient';

export const ClientSchema = new Schema<ClientDoc>(
  {
    name: { type: String, required: true },
    plan: { type: String, required: true },
    status: { type: String, required: true, enum: ['active', 'suspended', 'deleted'] },
    region: { type: String, required: true },
    quotas: { type: Schema.Types.Mixed, default: {} },
    metadata: { type: Schema.Types.Mixed },
    suspended_at: { type: Date, default: null },
    suspension_reason: { type: String, default: null },
    deleted_at: { type: Date, default: null },
    exported_at: { type: Date, default: null },
    erased_at: { type: Date, default: null },
  },
  { collection: 'clients', timestamps: { createdAt: 'created_at', updatedAt: 'updated_at' }, versionKey: false, minimize: false },
);
// Listing pages newest first by _id, filtered by status / plan.
ClientSchema.index({ status: 1, _id: -1 });
ClientSchema.index({ plan: 1, _id: -1 });
