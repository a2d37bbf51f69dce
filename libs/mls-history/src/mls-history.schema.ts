import { Schema } from 'mongoose';
import { tenantGuardPlugin } from '@chat/tenancy';

/*
 * E2E v2 history records (docs/e2e-crypto.md): users' key backups and conversations' history bundles.
 * Every byte string here is ciphertext made by a client; the server holds no key that opens any of it.
 */

export const KEY_BACKUP_MODEL = 'KeyBackup';

/** One wrap of a user's backup key: by recovery key (HKDF) or by passphrase (scrypt parameters kept). */
export interface BackupKeyWrapDoc {
  kind: 'recovery_key' | 'passphrase';
  /** base64 salt (16 bytes). */
  salt: string;
  /** base64 nonce || AEAD(backup key). */
  wrapped_key: string;
  scrypt: { N: number; r: number; p: number } | null;
}

/** A user's key backup: which backup key (its one-way id) and that key wrapped by the user's secrets. */
export interface KeyBackupDoc {
  tenant_id: string;
  user_id: string;
  /** hex(HKDF(backup key, "chat/key-backup/id/v1")[0..16]), chosen by the client. */
  backup_id: string;
  wraps: BackupKeyWrapDoc[];
  created_at: Date;
  updated_at: Date;
}

const WrapSchema = new Schema<BackupKeyWrapDoc>(
  {
    kind: { type: String, required: true },
    salt: { type: String, required: true },
    wrapped_key: { type: String, required: true },
    scrypt: { type: new Schema({ N: Number, r: Number, p: Number }, { _id: false }), default: null },
  },
  { _id: false },
);

export const KeyBackupSchema = new Schema<KeyBackupDoc>(
  {
    tenant_id: { type: String, required: true },
    user_id: { type: String, required: true },
    backup_id: { type: String, required: true },
    wraps: { type: [WrapSchema], default: [] },
    created_at: { type: Date, required: true },
    updated_at: { type: Date, required: true },
  },
  { collection: 'key_backups', versionKey: false, minimize: false },
);
KeyBackupSchema.index({ tenant_id: 1, user_id: 1 }, { unique: true });
KeyBackupSchema.plugin(tenantGuardPlugin);

export const KEY_BACKUP_ENTRY_MODEL = 'KeyBackupEntry';

/** One epoch key of one group, encrypted under the user's backup key (bound to tenant, user, group, epoch). */
export interface KeyBackupEntryDoc {
  tenant_id: string;
  user_id: string;
  /** The backup it belongs to: entries of a replaced backup are never served (and are deleted). */
  backup_id: string;
  /** Hex MLS group id. */
  group_id: string;
  epoch: number;
  /** base64 nonce || AEAD(epoch key). */
  ciphertext: string;
  updated_at: Date;
}

export const KeyBackupEntrySchema = new Schema<KeyBackupEntryDoc>(
  {
    tenant_id: { type: String, required: true },
    user_id: { type: String, required: true },
    backup_id: { type: String, required: true },
    group_id: { type: String, required: true },
    epoch: { type: Number, required: true },
    ciphertext: { type: String, required: true },
    updated_at: { type: Date, required: true },
  },
  { collection: 'key_backup_entries', versionKey: false, minimize: false },
);
KeyBackupEntrySchema.index({ tenant_id: 1, user_id: 1, backup_id: 1, group_id: 1, epoch: 1 }, { unique: true });
KeyBackupEntrySchema.index({ tenant_id: 1, user_id: 1, _id: 1 });
KeyBackupEntrySchema.plugin(tenantGuardPlugin);

export const HISTORY_BUNDLE_MODEL = 'MlsHistoryBundle';

/**
 * Earlier epoch keys of a conversation's group, encrypted by a member device under a key derived from
 * the epoch `epoch`'s history key: whoever is in the group at that epoch (the new member included) opens it.
 */
export interface HistoryBundleDoc {
  tenant_id: string;
  conversation_id: string;
  group_id: string;
  epoch: number;
  sender_user_id: string;
  sender_device_id: string;
  /** base64 nonce || AEAD(list of (epoch, key)). */
  ciphertext: string;
  created_at: Date;
}

export const HistoryBundleSchema = new Schema<HistoryBundleDoc>(
  {
    tenant_id: { type: String, required: true },
    conversation_id: { type: String, required: true },
    group_id: { type: String, required: true },
    epoch: { type: Number, required: true },
    sender_user_id: { type: String, required: true },
    sender_device_id: { type: String, required: true },
    ciphertext: { type: String, required: true },
    created_at: { type: Date, required: true },
  },
  { collection: 'mls_history_bundles', versionKey: false, minimize: false },
);
HistoryBundleSchema.index({ tenant_id: 1, conversation_id: 1, _id: 1 });
HistoryBundleSchema.plugin(tenantGuardPlugin);

export const HISTORY_SETTING_MODEL = 'MlsHistorySetting';

export const HISTORY_VISIBILITIES = ['joined', 'shared'] as const;
export type HistoryVisibility = (typeof HISTORY_VISIBILITIES)[number];
/** A conversation without a setting: new members read from their join on (the v1 policy). */
export const DEFAULT_HISTORY_VISIBILITY: HistoryVisibility = 'joined';

/** A conversation's history visibility (absent: DEFAULT_HISTORY_VISIBILITY). */
export interface HistorySettingDoc {
  tenant_id: string;
  conversation_id: string;
  history_visibility: HistoryVisibility;
  updated_by: string;
  updated_at: Date;
}

export const HistorySettingSchema = new Schema<HistorySettingDoc>(
  {
    tenant_id: { type: String, required: true },
    conversation_id: { type: String, required: true },
    history_visibility: { type: String, enum: HISTORY_VISIBILITIES, required: true },
    updated_by: { type: String, required: true },
    updated_at: { type: Date, required: true },
  },
  { collection: 'mls_history_settings', versionKey: false, minimize: false },
);
HistorySettingSchema.index({ tenant_id: 1, conversation_id: 1 }, { unique: true });
HistorySettingSchema.plugin(tenantGuardPlugin);
