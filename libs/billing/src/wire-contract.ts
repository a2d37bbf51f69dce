import type { BillingPlan, InvoiceRunView, InvoiceView, Matches } from '@chat/contracts';
import type * as Server from './index';

/** The views this lib answers with are the wire contract's (both ways: a mismatch fails the type-check). */
export type WireChecks = [
  Matches<Server.BillingPlan, BillingPlan>,
  Matches<ReturnType<typeof Server.invoiceView>, InvoiceView>,
  Matches<Server.GenerateReport, InvoiceRunView>,
];
