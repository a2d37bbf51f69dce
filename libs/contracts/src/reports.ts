import type { IsoDate } from './common';

export type ReportReason = 'spam' | 'harassment' | 'hate' | 'violence' | 'sexual' | 'self_harm' | 'illegal' | 'other';
/** `open` in the queue; `dismissed` resolved with no action; `actioned` resolved with at least one action. */
export type ReportStatus = 'open' | 'dismissed' | 'actioned';
export type ReportAction = 'delete_message' | 'ban_user';

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
