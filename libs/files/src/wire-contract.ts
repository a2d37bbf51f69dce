import type { Conforms, DownloadTicket, FileView, PresignedRequest, UploadTicket } from '@chat/contracts';
import type * as Server from './index';

/** The views this lib answers with are the wire contract's (a mismatch fails the type-check). */
export type WireChecks = [
  Conforms<Server.FileView, FileView>,
  Conforms<Server.UploadTicket, UploadTicket>,
  Conforms<Server.DownloadTicket, DownloadTicket>,
  Conforms<Server.PresignedRequest, PresignedRequest>,
];
