import { Schema, Types } from 'mongoose';

export type AuditSeverity = 'info' | 'warning' | 'critical';
export type AuditActorType = 'admin' | 'api_key' | 'user' | 'system' | 'anonymous';

/** One admin action or security event. Append-only. */
export interface AuditLogDoc {
  _id: Types.ObjectId;
  at: Date;
  actor: { type: AuditActorType; id: string | null; email?: string | null };
  /** Dotted verb, e.g. `admin.login`, `tenant.suspend`, `api_key.revoke`, `auth.permission_denied`, `quota.exceeded`. */
  action: string;
  resource: { type: string | null; id: string | null };
  tenant_id: string | null;
  ip: string | null;
  success: boolean;
  severity: AuditSeverity;
  details?: Record<string, unknown> | null;
  request_id?: string | null;
}

export const AUDIT_LOG_MODEL = 'AuditLog';

export const AuditLogSchema = new Schema<AuditLogDoc>(
  {
    at: { type: Date, required: true },
    actor: {
      type: { type: String, required: true },
      id: { type: String, default: null },
      email: { type: String, default: null },
    },
    action: { type: String, required: true },
    resource: {
      type: { type: String, default: null },
      id: { type: String, default: null },
    },
    tenant_id: { type: String, default: null },
    ip: { type: String, default: null },
    success: { type: Boolean, required: true },
    severity: { type: String, required: true, enum: ['info', 'warning', 'critical'] },
    details: { type: Schema.Types.Mixed, default: null },
    request_id: { type: String, default: null },
  },
  { collection: 'audit_logs', versionKey: false },
);
// Cursor pages newest first (_id order follows time), optionally narrowed by the usual filters.
AuditLogSchema.index({ tenant_id: 1, _id: -1 });
AuditLogSchema.index({ action: 1, _id: -1 });
AuditLogSchema.index({ 'actor.id': 1, _id: -1 });
AuditLogSchema.index({ 'resource.id': 1, _id: -1 });
