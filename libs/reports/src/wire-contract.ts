import type { Conforms, ReportAction, ReportReason, ReportReceiptView, ReportStatus, ReportView } from '@chat/contracts';
import type * as Server from './index';

/** The views this lib answers with are the wire contract's (a mismatch fails the type-check). */
export type WireChecks = [
  Conforms<Server.ReportReason, ReportReason>,
  Conforms<Server.ReportStatus, ReportStatus>,
  Conforms<Server.ReportAction, ReportAction>,
  Conforms<Server.ReportView, ReportView>,
  Conforms<Server.ReceiptReportView, ReportReceiptView>,
  Conforms<ReturnType<typeof Server.toReportView>, ReportView>,
];
