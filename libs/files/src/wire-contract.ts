import type { DownloadTicket, FileView, Matches, PresignedRequest, UploadTicket } from '@chat/contracts';
import type * as Server from './index';

/** The views this lib answers with are the wire contract's (both ways: a mismatch fails the type-check). */
export type WireChecks = [
  Matches<Server.FileView, FileView>,
  Matches<Server.UploadTicket, UploadTicket>,
  Matches<Server.DownloadTicket, DownloadTicket>,
  Matches<Server.PresignedRequest, PresignedRequest>,
];
