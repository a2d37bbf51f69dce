import type { IsoDate } from './common';

export const REPORT_REASONS = ['spam', 'harassment', 'hate', 'violence', 'sexual', 'self_harm', 'illegal', 'other'] as const;
export type ReportReason = (typeof REPORT_REASONS)[number];
export const REPORT_STATUSES = ['open', 'dismissed', 'actioned'] as const;
/** `open` in the queue; `dismissed` resolved with no action; `actioned` resolved with at least one action. */
export type ReportStatus = (typeof REPORT_STATUSES)[number];
/** What the queue can be listed by (`status` of the list query): a status, or `resolved` for both closed ones. */
export const REPORT_STATUS_FILTERS = [...REPORT_STATUSES, 'resolved'] as const;
export const REPORT_ACTIONS = ['delete_message', 'ban_user'] as const;
export type ReportAction = (typeof REPORT_ACTIONS)[number];

/** Body of POST /v1/conversations/:id/messages/:message_id/reports (the SDK's E2EChat.report builds it). */
export interface CreateReportInput {
  /** The payload exactly as committed to (the string inside the franked plaintext). */
  payload: string;
  /** base64 franking key from the decrypted message (absent for a message sent without franking). */
  franking_key?: string;
  reason: ReportReason;
  note?: string;
}

/** What the reporting member gets back: its own report, without echoing the payload and key it just sent. */
export interface ReportReceiptView {
  id: string;
  conversation_id: string;
  message_id: string;
  reason: ReportReason;
  verified: boolean;
  status: ReportStatus;
  created_at: IsoDate;
}

/** A report in the moderation queue (API key with moderation:read, platform admins). */
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
  /** The reported payload as the sender committed to it (for SDK messages: its JSON). */
  payload: string;
  franking_key: string | null;
  commitment: string | null;
  /** The franking commitment stored at send time opens to this payload; false: the message had no commitment (unverifiable). */
  verified: boolean;
  status: ReportStatus;
  resolution: { by: { type: 'api_key' | 'admin'; id: string }; at: IsoDate; note: string | null; actions: ReportAction[] } | null;
  created_at: IsoDate;
  updated_at: IsoDate;
}
