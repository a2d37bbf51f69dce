import type { ReportReceiptView, ReportView } from '@chat/contracts';
import type { ReportRecord } from './report.schema';

/**
 * A report as moderators see it (API key with moderation:read, platform admins), and what the
 * reporting member gets back (its own report, without echoing the payload and key it just sent): the
 * wire contract's types, not a second copy.
 */
export type { ReportView } from '@chat/contracts';
export type ReceiptReportView = ReportReceiptView;

export function toReportView(r: ReportRecord): ReportView {
  return {
    id: r._id.toHexString(),
    conversation_id: r.conversation_id,
    message_id: r.message_id,
    message_seq: r.message_seq,
    sender_id: r.sender_id,
    sender_device_id: r.sender_device_id,
    reporter_id: r.reporter_id,
    reason: r.reason,
    note: r.note ?? null,
    payload: r.payload,
    franking_key: r.franking_key ?? null,
    commitment: r.commitment ?? null,
    verified: r.verified,
    status: r.status,
    resolution: r.resolution ? { ...r.resolution, at: new Date(r.resolution.at).toISOString() } : null,
    created_at: new Date(r.created_at).toISOString(),
    updated_at: new Date(r.updated_at).toISOString(),
  };
}

export function toReceiptReportView(r: ReportRecord): ReceiptReportView {
  return {
    id: r._id.toHexString(),
    conversation_id: r.conversation_id,
    message_id: r.message_id,
    reason: r.reason,
    verified: r.verified,
    status: r.status,
    created_at: new Date(r.created_at).toISOString(),
  };
}
