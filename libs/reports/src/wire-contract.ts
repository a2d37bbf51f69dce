import type { Matches, ReportAction, ReportReason, ReportReceiptView, ReportStatus, ReportView } from '@chat/contracts';
import type * as Server from './index';

/** The views this lib answers with are the wire contract's (both ways: a mismatch fails the type-check). */
export type WireChecks = [
  Matches<Server.ReportReason, ReportReason>,
  Matches<Server.ReportStatus, ReportStatus>,
  Matches<Server.ReportAction, ReportAction>,
  Matches<Server.ReportView, ReportView>,
  Matches<Server.ReceiptReportView, ReportReceiptView>,
  Matches<ReturnType<typeof Server.toReportView>, ReportView>,
];
