import type { IsoDate } from './common';

/** MLS Delivery Service views (binary fields base64). */
export interface KeyPackageCountView {
  device_id: string;
  one_time: number;
  last_resort: boolean;
}

export interface ClaimedKeyPackageView {
  user_id: string;
  device_id: string;
  key_package: string;
  last_resort: boolean;
}

export interface MlsGroupView {
  conversation_id: string;
  group_id: string;
  epoch: number;
  group_info: string;
  updated_at: IsoDate;
}

export interface MlsMessageView {
  id: string;
  kind: 'commit' | 'application';
  epoch: number;
  sender_user_id: string;
  sender_device_id: string;
  message: string;
  created_at: IsoDate;
}

export interface MlsWelcomeView {
  id: string;
  conversation_id: string;
  group_id: string;
  epoch: number;
  welcome: string;
  /** base64 GroupInfo of the epoch the Welcome joins at (carries the ratchet tree a large group's Welcome leaves out). */
  group_info: string;
  created_at: IsoDate;
}

/** POST /v1/conversations/{id}/mls/commits: the group's new epoch and who got a Welcome. */
export interface MlsCommitResultView {
  epoch: number;
  message_id: string;
  welcomed: Array<{ user_id: string; device_id: string }>;
}

/** GET /v1/devices/{device_id}/mls/identity: the credential identity this device must use. */
export interface MlsIdentityView {
  identity: string;
}
