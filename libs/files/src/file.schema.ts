import { Schema, Types } from 'mongoose';
import { FILE_STATUSES, SHARING_TYPES, type FileStatus, type SharingType } from '@chat/contracts';
import { tenantGuardPlugin } from '@chat/tenancy';

export const FILE_MODEL = 'File';
export const FILE_PURGE_MODEL = 'FilePurge';

export interface FileWrappedKey {
  user_id: string;
  device_id: string;
  key_version: number;
  wrapped_key: string;
}

/** The `files` collection (data model contract: storage, metadata, encryption, sharing). Ciphertext only. */
export interface FileDoc {
  tenant_id: string;
  uploader_id: string;
  status: FileStatus;
  storage: { provider: 's3'; bucket: string; key: string; cdn_url: string | null; etag: string | null };
  metadata: {
    /** Optional and visible to the server: clients should keep the real name inside the encrypted message. */
    filename: string | null;
    mime_type: string;
    /** Ciphertext bytes. */
    size: number;
    /** Hex SHA-256 of the ciphertext. */
    checksum: string;
    /** base64 MD5 of the ciphertext (Content-MD5 of the upload). */
    content_md5: string;
    dimensions: { width: number; height: number } | null;
  };
  /** How the ciphertext was made; the key itself only ever travels wrapped for recipient devices. */
  encryption: { algorithm: string; ephemeral_public_key: string | null; encrypted_key: FileWrappedKey[] };
  sharing: { type: SharingType; conversation_id: string | null; expiry: Date | null };
  /** The message that carries this file (set by the uploader); its deletion deletes the file. */
  message_id: string | null;
  upload_expires_at: Date;
  confirmed_at: Date | null;
  deleted_at: Date | null;
  /**
   * `removed`: deleted by its uploader or the tenant's server (a `file.deleted` webhook event, which the
   * webhook sweeper recovers from this after a crash); null for files removed with their message, by
   * retention or as abandoned uploads. Optional: absent on files deleted before it existed.
   */
  deleted_reason?: 'removed' | null;
  /** When the object was removed from the bucket. */
  purged_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export type FileRecord = FileDoc & { _id: Types.ObjectId };

const WrappedKeySchema = new Schema<FileWrappedKey>(
  {
    user_id: { type: String, required: true },
    device_id: { type: String, required: true },
    key_version: { type: Number, required: true },
    wrapped_key: { type: String, required: true },
  },
  { _id: false },
);

export const FileSchema = new Schema<FileDoc>(
  {
    tenant_id: { type: String, required: true },
    uploader_id: { type: String, required: true },
    status: { type: String, enum: FILE_STATUSES, required: true },
    storage: {
      provider: { type: String, required: true },
      bucket: { type: String, required: true },
      key: { type: String, required: true },
      cdn_url: { type: String, default: null },
      etag: { type: String, default: null },
    },
    metadata: {
      filename: { type: String, default: null },
      mime_type: { type: String, required: true },
      size: { type: Number, required: true },
      checksum: { type: String, required: true },
      content_md5: { type: String, required: true },
      dimensions: { type: new Schema({ width: Number, height: Number }, { _id: false }), default: null },
    },
    encryption: {
      algorithm: { type: String, required: true },
      ephemeral_public_key: { type: String, default: null },
      encrypted_key: { type: [WrappedKeySchema], default: [] },
    },
    sharing: {
      type: { type: String, enum: SHARING_TYPES, required: true },
      conversation_id: { type: String, default: null },
      expiry: { type: Date, default: null },
    },
    message_id: { type: String, default: null },
    upload_expires_at: { type: Date, required: true },
    confirmed_at: { type: Date, default: null },
    deleted_at: { type: Date, default: null },
    deleted_reason: { type: String, default: null },
    purged_at: { type: Date, default: null },
    created_at: { type: Date, required: true },
    updated_at: { type: Date, required: true },
  },
  { collection: 'files', versionKey: false, minimize: false },
);

FileSchema.index({ tenant_id: 1, uploader_id: 1, _id: -1 });
FileSchema.index({ tenant_id: 1, 'sharing.type': 1 });
// Files of a deleted message.
FileSchema.index({ tenant_id: 1, message_id: 1 });
// Storage in use (quota): live files only.
FileSchema.index({ tenant_id: 1, status: 1 });
FileSchema.plugin(tenantGuardPlugin);

/**
 * Bucket removals waiting for the sweep: a job queue across tenants, like other platform-level
 * collections (the sweep must find due work without visiting every tenant). It holds no content, only
 * which object to delete and when; an entry disappears once its object is gone.
 */
export interface FilePurgeDoc {
  tenant_id: string;
  file_id: string;
  bucket: string;
  key: string;
  /** deleted: the file was deleted; abandoned: its upload was never confirmed. */
  reason: 'deleted' | 'abandoned';
  due_at: Date;
  /** A node working on the entry holds it until then (crash-safe claim). */
  claimed_until: Date | null;
  attempts: number;
  created_at: Date;
}

export type FilePurgeRecord = FilePurgeDoc & { _id: Types.ObjectId };

export const FilePurgeSchema = new Schema<FilePurgeDoc>(
  {
    tenant_id: { type: String, required: true },
    file_id: { type: String, required: true },
    bucket: { type: String, required: true },
    key: { type: String, required: true },
    reason: { type: String, enum: ['deleted', 'abandoned'], required: true },
    due_at: { type: Date, required: true },
    claimed_until: { type: Date, default: null },
    attempts: { type: Number, default: 0 },
    created_at: { type: Date, required: true },
  },
  { collection: 'file_purges', versionKey: false, minimize: false },
);

// One entry per file (re-marking moves it); the sweep reads the earliest due.
FilePurgeSchema.index({ file_id: 1 }, { unique: true });
FilePurgeSchema.index({ due_at: 1 });
// Per-tenant erasure / export tools find a tenant's entries.
FilePurgeSchema.index({ tenant_id: 1 });
