import type { ReportAction, ReportActor, ReportReason, ReportRecord, ReportStatus } from './report.schema';

/** A report as moderators see it (API key with moderation:read, platform admins). */
export interface ReportView {
  id: string;
  conversation_id: string;
  message_id: string;
  message_seq: number;
  sender_id: string;
  sender_device_id: string;
  reporter_id: string;
  reason: ReportReason;
  note: string | null;
  /** The reported payload as the sender committed to it (for SDK messages: its JSON, e.g. {"v":1,"kind":"text","text":"..."}). */
  payload: string;
  franking_key: string | null;
  commitment: string | null;
  verified: boolean;
  status: ReportStatus;
  resolution: { by: ReportActor; at: string; note: string | null; actions: ReportAction[] } | null;
  created_at: string;
  updated_at: string;
}

/** What the reporting member gets back: its own report, without echoing the payload and key it just sent. */
export interface ReceiptReportView {
  id: string;
  conversation_id: string;
  message_id: string;
  reason: ReportReason;
  verified: boolean;
  status: ReportStatus;
  created_at: string;
}

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
