import type { IsoDate } from './common';

/** A content key wrapped for one recipient device: base64(nonce || ciphertext || tag). */
export interface WrappedKey {
  user_id: string;
  device_id: string;
  key_version: number;
  wrapped_key: string;
}

/** A published device key version as clients see it. */
export interface DeviceKeyView {
  user_id: string;
  device_id: string;
  key_version: number;
  public_key: string;
  signing_key: string | null;
  created_at: IsoDate;
  revoked_at: IsoDate | null;
}

/** A live device with its current key version and every version it ever published. */
export interface DeviceView extends DeviceKeyView {
  versions: DeviceKeyView[];
}

/** An entry of `details.missing` of a 422 `missing_recipient_keys` (device_id/key_version null: the member has no published device). */
export interface MissingRecipientKey {
  user_id: string;
  device_id: string | null;
  key_version: number | null;
}

export interface ConversationKeyShareView {
  shared_by: string;
  ephemeral_public_key: string;
  /** Only the entries addressed to the caller's devices. */
  encrypted_key: WrappedKey[];
  created_at: IsoDate;
}

export interface ConversationKeyVersionView {
  key_version: number;
  key_check: string;
  created_by: string;
  created_at: IsoDate;
  shares: ConversationKeyShareView[];
}

export interface MessageKeyShareView {
  id: string;
  message_id: string;
  shared_by: string;
  ephemeral_public_key: string;
  encrypted_key: WrappedKey[];
  created_at: IsoDate;
}

/** GET /v1/conversations/{id}/keys: the members' devices, and who has none. */
export interface ConversationDevicesView {
  data: DeviceKeyView[];
  members_without_keys: string[];
}

/** POST .../key-shares: how many message key shares were stored. */
export interface StoredCountView {
  stored: number;
}

/** GET .../conversation-keys: the versions wrapped for the caller's devices (newest first) and the newest that exists. */
export interface ConversationKeysView {
  current_version: number | null;
  data: ConversationKeyVersionView[];
}

/** POST .../conversation-keys/{version}/shares: the members the key was wrapped for. */
export interface KeyShareRecipientsView {
  recipients: string[];
}
