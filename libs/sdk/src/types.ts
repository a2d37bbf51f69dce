/**
 * Shapes of what the server sends and accepts (mirrors the REST reference; the SDK imports no server
 * code, so it stays usable in browsers).
 */
import type { EncryptedMessageContent } from './crypto/envelope';
import type { WrappedKey } from './crypto/key-wrap';

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export type UserStatus = 'online' | 'offline' | 'away' | 'dnd';

export interface UserView {
  external_id: string;
  profile: { display_name: string | null; avatar_url: string | null; status: UserStatus; custom_data: Record<string, unknown> | null };
  settings?: { notifications: Record<string, unknown>; privacy: Record<string, unknown> };
  encryption: { public_key: string | null; key_version: number | null };
  deactivated: boolean;
  deactivated_at?: string | null;
  created_at?: string;
  updated_at?: string;
  last_seen: string | null;
}

export interface UserFields {
  profile?: Partial<{ display_name: string | null; avatar_url: string | null; status: UserStatus; custom_data: Record<string, unknown> | null }>;
  settings?: Partial<{ notifications: Record<string, unknown>; privacy: Record<string, unknown> }>;
}

export type ConversationType = 'direct' | 'group' | 'channel';
export type ParticipantRole = 'owner' | 'admin' | 'member';

export interface ConversationView {
  id: string;
  type: ConversationType;
  metadata: { name: string | null; avatar: string | null; description: string | null };
  participants: Array<{ user_id: string; role: ParticipantRole; joined_at: string; last_read_seq: number; last_delivered_seq: number }>;
  member_count: number;
  last_seq: number;
  last_message: { content_preview: string | null; sender_id: string; sent_at: string; seq: number; message_id: string } | null;
  unread_count: number;
  role: ParticipantRole | null;
  settings: { muted: boolean; pinned: boolean } | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface CreateConversationInput {
  type: 'group' | 'channel';
  name?: string | null;
  avatar?: string | null;
  description?: string | null;
  member_ids?: string[];
}

export type MessageStatus = 'sent' | 'delivered' | 'read' | 'deleted';

export interface MessageView {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string;
  client_msg_id: string;
  /** The E2E envelope (null once deleted). */
  content: EncryptedMessageContent | null;
  preview: string | null;
  mentions: string[];
  reactions: Array<{ user_id: string; emoji: string; created_at: string }>;
  thread: { parent_id: string | null; reply_count: number };
  read_by: Array<{ user_id: string; read_at: string }>;
  status: MessageStatus;
  gap: boolean;
  created_at: string;
  updated_at: string;
  edited_at: string | null;
  deleted_at: string | null;
  /** Change position of its latest edit, delete, reaction or thread-counter change (0: never changed). */
  change_seq?: number;
  /** `system`: posted by the app's server with plaintext `text` (content null), NOT end-to-end encrypted: show it so. */
  type?: 'regular' | 'system';
  /** False for system messages. */
  e2e?: boolean;
  /** A system message's plaintext (null otherwise). */
  text?: string | null;
}

/** Messages changed after a change position (GET /v1/conversations/:id/changes, and `sync` with after_change). */
export interface ChangesPage {
  changes: MessageView[];
  next_after_change: number;
  changes_has_more: boolean;
}

export interface SendMessageInput {
  content: EncryptedMessageContent;
  client_msg_id?: string;
  thread_parent_id?: string;
  search_tokens?: string[];
  mentions?: string[];
  preview?: string;
}

export type EditMessageInput = Omit<SendMessageInput, 'client_msg_id' | 'thread_parent_id'>;

export interface HistoryQuery {
  before_seq?: number;
  after_seq?: number;
  cursor?: string;
  limit?: number;
}

export interface ReceiptView {
  conversation_id: string;
  user_id: string;
  last_read_seq?: number;
  last_delivered_seq: number;
}

export interface DeviceKeyView {
  user_id: string;
  device_id: string;
  key_version: number;
  public_key: string;
  signing_key: string | null;
  created_at: string;
  revoked_at: string | null;
}

export interface DeviceView extends DeviceKeyView {
  versions: DeviceKeyView[];
}

export interface PublishKeyInput {
  key_version: number;
  public_key: string;
  signing_key?: string;
}

/** An entry of `details.missing` of a 422 `missing_recipient_keys` (device_id/key_version null: the member has no published device). */
export interface MissingRecipientKey {
  user_id: string;
  device_id: string | null;
  key_version: number | null;
}

export interface WrappedKeySetInput {
  ephemeral_public_key: string;
  encrypted_key: WrappedKey[];
}

export interface ConversationKeyVersionView {
  key_version: number;
  key_check: string;
  created_by: string;
  created_at: string;
  shares: Array<{ shared_by: string; ephemeral_public_key: string; encrypted_key: WrappedKey[]; created_at: string }>;
}

export interface MessageKeyShareView {
  id: string;
  message_id: string;
  shared_by: string;
  ephemeral_public_key: string;
  encrypted_key: WrappedKey[];
  created_at: string;
}

export type SharingType = 'private' | 'chat' | 'public';

export interface FileView {
  id: string;
  uploader_id: string;
  status: 'pending' | 'ready' | 'deleted';
  storage: { provider: 's3' };
  metadata: { filename: string | null; mime_type: string; size: number; checksum: string; dimensions: { width: number; height: number } | null };
  encryption: { algorithm: string; ephemeral_public_key: string | null; encrypted_key: WrappedKey[] };
  sharing: { type: SharingType; conversation_id: string | null; expiry: string | null };
  message_id: string | null;
  created_at: string;
  confirmed_at: string | null;
  deleted_at: string | null;
}

export interface PresignedRequest {
  url: string;
  method: 'PUT' | 'GET';
  headers: Record<string, string>;
  expires_at: string;
}

export interface CreateUploadInput {
  size: number;
  checksum: string;
  content_md5: string;
  mime_type: string;
  filename?: string;
  dimensions?: { width: number; height: number };
  sharing: { type: SharingType; conversation_id?: string; expiry?: string };
  encryption?: { algorithm: string; ephemeral_public_key?: string; encrypted_key?: WrappedKey[] };
}

export interface UploadTicket {
  file: FileView;
  upload: PresignedRequest;
}

export interface DownloadTicket {
  file: FileView;
  download: PresignedRequest;
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
