/**
 * Shapes of what the server sends and accepts. The views come from the wire contract (libs/contracts,
 * types only, bundled into the package), narrowed to this SDK's envelope type; the inputs are what the
 * SDK's methods take.
 */
import type * as Wire from '@chat/contracts';
import type { EncryptedMessageContent } from './crypto/envelope';
import type { WrappedKey } from './crypto/key-wrap';

export type {
  ChannelSummary,
  ConversationDevicesView,
  ConversationKeysView,
  ConversationKeyVersionView,
  ConversationType,
  ConversationView,
  DeviceKeyView,
  DeviceView,
  DownloadTicket,
  ErrorResponse,
  KeyShareRecipientsView,
  FileView,
  MessageKeyShareView,
  MessageStatus,
  MissingRecipientKey,
  Page,
  ParticipantRole,
  PresignedRequest,
  PublicUserView,
  ReceiptView,
  SharingType,
  StoredCountView,
  UploadTicket,
  UserStatus,
  UserView,
} from '@chat/contracts';

/** A message as the server sends it, its content typed as this SDK's E2E envelope. */
export type MessageView = Wire.MessageViewOf<EncryptedMessageContent>;

/** Messages changed after a change position (GET /v1/conversations/:id/changes, and `sync` with after_change). */
export type ChangesPage = Wire.ChangesPageOf<EncryptedMessageContent>;

export interface UserFields {
  profile?: Partial<Wire.UserProfile>;
  settings?: Partial<Wire.UserView['settings']>;
}

export interface CreateConversationInput {
  type: 'group' | 'channel';
  name?: string | null;
  avatar?: string | null;
  description?: string | null;
  member_ids?: string[];
}

export type SendMessageInput = Omit<Wire.SendMessagePayload<EncryptedMessageContent>, 'conversation_id'>;

export type EditMessageInput = Omit<SendMessageInput, 'client_msg_id' | 'thread_parent_id'>;

export interface HistoryQuery {
  before_seq?: number;
  after_seq?: number;
  cursor?: string;
  limit?: number;
}

export interface PublishKeyInput {
  key_version: number;
  public_key: string;
  signing_key?: string;
}

export interface WrappedKeySetInput {
  ephemeral_public_key: string;
  encrypted_key: WrappedKey[];
}

export interface CreateUploadInput {
  size: number;
  checksum: string;
  content_md5: string;
  mime_type: string;
  filename?: string;
  dimensions?: { width: number; height: number };
  sharing: { type: Wire.SharingType; conversation_id?: string; expiry?: string };
  encryption?: { algorithm: string; ephemeral_public_key?: string; encrypted_key?: WrappedKey[] };
}

// ---------------------------------------------------------------- reports and the moderation queue

export type ReportReason = 'spam' | 'harassment' | 'hate' | 'violence' | 'sexual' | 'self_harm' | 'illegal' | 'other';
export type ReportStatus = 'open' | 'dismissed' | 'actioned';
export type ReportAction = 'delete_message' | 'ban_user';

/** Body of POST /v1/conversations/:id/messages/:message_id/reports (E2EChat.report builds it). */
export interface CreateReportInput {
  /** The payload exactly as committed to (the string inside the franked plaintext). */
  payload: string;
  /** base64 franking key from the decrypted message (absent for a message sent without franking). */
  franking_key?: string;
  reason: ReportReason;
  note?: string;
}

/** What the reporting member gets back. */
export interface ReportReceiptView {
  id: string;
  conversation_id: string;
  message_id: string;
  reason: ReportReason;
  verified: boolean;
  status: ReportStatus;
  created_at: string;
}

/** A report in the moderation queue (API key with moderation:read). */
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
  payload: string;
  franking_key: string | null;
  commitment: string | null;
  verified: boolean;
  status: ReportStatus;
  resolution: { by: { type: 'api_key' | 'admin'; id: string }; at: string; note: string | null; actions: ReportAction[] } | null;
  created_at: string;
  updated_at: string;
}
