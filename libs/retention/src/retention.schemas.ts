import { Schema } from 'mongoose';
import { mongoOnlyIndex } from '@chat/database';
import { tenantGuardPlugin } from '@chat/tenancy';

/** Per-tenant retention settings and legal holds (`retention_policies`, one document per tenant, _id = tenant id). */
export interface RetentionPolicyDoc {
  _id: string;
  tenant_id: string;
  /** Messages older than this are deleted; null: kept forever. */
  retention_days: number | null;
  /** Soft-deleted messages are purged this long after deletion; null: RETENTION_SOFT_DELETE_GRACE_DAYS. */
  soft_delete_grace_days: number | null;
  /** Suspends every deletion for the tenant. */
  legal_hold: boolean;
  /** Conversations under legal hold: none of their messages is deleted. */
  held_conversations: string[];
  updated_at: Date;
}

export const RETENTION_POLICY_MODEL = 'RetentionPolicy';
export const RetentionPolicySchema = new Schema<RetentionPolicyDoc>(
  {
    _id: { type: String, required: true },
    tenant_id: { type: String, required: true },
    retention_days: { type: Number, default: null },
    soft_delete_grace_days: { type: Number, default: null },
    legal_hold: { type: Boolean, default: false },
    held_conversations: { type: [String], default: [] },
    updated_at: { type: Date, required: true },
  },
  { collection: 'retention_policies', versionKey: false },
);
RetentionPolicySchema.index({ tenant_id: 1 });

/**
 * The retention job's narrow view of `messages` (owned by chat): only the fields it filters on, and
 * the two indexes that make its scans cheap. Guarded like every tenant collection.
 */
export interface RetainedMessageDoc {
  tenant_id: string;
  conversation_id: string;
  created_at: Date;
  deleted_at: Date | null;
}
export const RETAINED_MESSAGE_MODEL = 'RetentionMessage';
export const RetainedMessageSchema = new Schema<RetainedMessageDoc>(
  {
    tenant_id: { type: String, required: true },
    conversation_id: { type: String, required: true },
    created_at: { type: Date, required: true },
    deleted_at: { type: Date, default: null },
  },
  { collection: 'messages', versionKey: false, strict: false, autoCreate: false },
);
// MongoDB only (mongoOnlyIndex, libs/database): both scans are ranges, which FerretDB never pushes
// down to PostgreSQL, so it never reads these indexes; there they would only cost every write.
mongoOnlyIndex(RetainedMessageSchema, { tenant_id: 1, created_at: 1 });
mongoOnlyIndex(RetainedMessageSchema, { tenant_id: 1, deleted_at: 1 });
RetainedMessageSchema.plugin(tenantGuardPlugin);

/**
 * The retention job's view of `user_tombstones` (owned by chat: a deleted user's external id and the
 * deletion's webhook event traces). Purged USER_TOMBSTONE_RETENTION_DAYS after the deletion.
 */
export interface RetainedTombstoneDoc {
  tenant_id: string;
  deleted_at: Date;
}
export const RETAINED_TOMBSTONE_MODEL = 'RetentionUserTombstone';
export const RetainedTombstoneSchema = new Schema<RetainedTombstoneDoc>(
  { tenant_id: { type: String, required: true }, deleted_at: { type: Date, required: true } },
  { collection: 'user_tombstones', versionKey: false, strict: false, autoCreate: false },
);
RetainedTombstoneSchema.index({ tenant_id: 1, deleted_at: 1 });
RetainedTombstoneSchema.plugin(tenantGuardPlugin);

/** What one run removed (`retention_reports`). */
export interface RetentionTenantReport {
  tenant_id: string;
  legal_hold: boolean;
  held_conversations: number;
  expired_deleted: number;
  soft_deleted_purged: number;
  /** Deleted users' tombstones past USER_TOMBSTONE_RETENTION_DAYS. */
  tombstones_purged: number;
  batches: number;
  /** The batch limit was reached: the rest goes in the next run. */
  truncated: boolean;
}
export interface RetentionReportDoc {
  _id: string;
  started_at: Date;
  finished_at: Date;
  tenants: RetentionTenantReport[];
  expired_deleted: number;
  soft_deleted_purged: number;
  tombstones_purged: number;
}
export const RETENTION_REPORT_MODEL = 'RetentionReport';
export const RetentionReportSchema = new Schema<RetentionReportDoc>(
  {
    _id: { type: String, required: true },
    started_at: Date,
    finished_at: Date,
    tenants: { type: Schema.Types.Mixed, default: () => [] } as never,
    expired_deleted: Number,
    soft_deleted_purged: Number,
    tombstones_purged: Number,
  },
  { collection: 'retention_reports', versionKey: false },
);
RetentionReportSchema.index({ started_at: -1 });
