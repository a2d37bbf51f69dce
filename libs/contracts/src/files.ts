import type { IsoDate } from './common';
import type { WrappedKey } from './keys';

export const SHARING_TYPES = ['private', 'chat', 'public'] as const;
export type SharingType = (typeof SHARING_TYPES)[number];
/** pending: upload URL issued; ready: object verified; deleted: marked, the sweep removes the object. */
export const FILE_STATUSES = ['pending', 'ready', 'deleted'] as const;
export type FileStatus = (typeof FILE_STATUSES)[number];

export interface FileView {
  id: string;
  uploader_id: string;
  status: FileStatus;
  storage: { provider: 's3' };
  metadata: {
    filename: string | null;
    mime_type: string;
    size: number;
    checksum: string;
    dimensions: { width: number; height: number } | null;
  };
  encryption: { algorithm: string; ephemeral_public_key: string | null; encrypted_key: WrappedKey[] };
  sharing: { type: SharingType; conversation_id: string | null; expiry: IsoDate | null };
  message_id: string | null;
  created_at: IsoDate;
  confirmed_at: IsoDate | null;
  deleted_at: IsoDate | null;
}

/** A presigned S3 request: send it exactly as given (the headers are part of the signature). */
export interface PresignedRequest {
  url: string;
  method: 'PUT' | 'GET';
  headers: Record<string, string>;
  expires_at: IsoDate;
}

export interface UploadTicket {
  file: FileView;
  upload: PresignedRequest;
}

export interface DownloadTicket {
  file: FileView;
  download: PresignedRequest;
}
