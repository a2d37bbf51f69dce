import type { BillingPlan, Conforms, InvoiceRunView, InvoiceView } from '@chat/contracts';
import type * as Server from './index';

/** The views this lib answers with are the wire contract's (a mismatch fails the type-check). */
export type WireChecks = [
  Conforms<Server.BillingPlan, BillingPlan>,
  Conforms<ReturnType<typeof Server.invoiceView>, InvoiceView>,
  Conforms<Server.GenerateReport, InvoiceRunView>,
];
