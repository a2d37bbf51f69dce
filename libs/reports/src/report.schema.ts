import { Schema, Types } from 'mongoose';
import { REPORT_REASONS, REPORT_STATUSES, type REPORT_STATUS_FILTERS, type ReportAction, type ReportReason, type ReportStatus, type ReportView } from '@chat/contracts';
import { tenantGuardPlugin } from '@chat/tenancy';

export type ReportStatusFilter = (typeof REPORT_STATUS_FILTERS)[number];
/** Who resolved a report (an API key or a platform admin), as its view shows it. */
export type ReportActor = NonNullable<ReportView['resolution']>['by'];

/**
 * A member's report of one message (docs/moderation.md, "Reports and message franking"). It holds what
 * the reporter chose to disclose about that message only: its decrypted payload and franking key, and
 * the commitment the server had stored with the message, so anyone can re-check `verified` later.
 */
export interface ReportDoc {
  tenant_id: string;
  conversation_id: string;
  message_id: string;
  message_seq: number;
  /** The reported message's sender and sending device, as the server stored them. */
  sender_id: string;
  sender_device_id: string;
  reporter_id: string;
  reason: ReportReason;
  note: string | null;
  /** The payload exactly as committed to (the string inside the franked plaintext). */
  payload: string;
  /** base64, 32 bytes: opens this message's commitment and nothing else. */
  franking_key: string | null;
  /** The message's `franking_commitment` as stored at send time (null: the message had none). */
  commitment: string | null;
  /** True when HMAC(franking_key, context || payload) equals the stored commitment; false: unverifiable (no commitment). */
  verified: boolean;
  status: ReportStatus;
  resolution: { by: ReportActor; at: Date; note: string | null; actions: ReportAction[] } | null;
  created_at: Date;
  updated_at: Date;
}

export type ReportRecord = ReportDoc & { _id: Types.ObjectId };

export const ReportSchema = new Schema<ReportDoc>(
  {
    tenant_id: { type: String, required: true },
    conversation_id: { type: String, required: true },
    message_id: { type: String, required: true },
    message_seq: { type: Number, required: true },
    sender_id: { type: String, required: true },
    sender_device_id: { type: String, required: true },
    reporter_id: { type: String, required: true },
    reason: { type: String, enum: REPORT_REASONS, required: true },
    note: { type: String, default: null },
    payload: { type: String, required: true },
    franking_key: { type: String, default: null },
    commitment: { type: String, default: null },
    verified: { type: Boolean, required: true },
    status: { type: String, enum: REPORT_STATUSES, default: 'open' },
    resolution: { type: Schema.Types.Mixed, default: null },
    created_at: { type: Date, required: true },
    updated_at: { type: Date, required: true },
  },
  { collection: 'message_reports', versionKey: false, minimize: false },
);

// One report per member per message (a repeat is a 409).
ReportSchema.index({ tenant_id: 1, message_id: 1, reporter_id: 1 }, { unique: true });
// The queue: newest first, by status, or by conversation.
ReportSchema.index({ tenant_id: 1, status: 1, _id: -1 });
ReportSchema.index({ tenant_id: 1, conversation_id: 1, _id: -1 });
ReportSchema.plugin(tenantGuardPlugin);

export const REPORT_MODEL = 'MessageReport';
