import type { Matches, RollupReportView, UsageView } from '@chat/contracts';
import type * as Server from './index';

/** The views this lib answers with are the wire contract's (both ways: a mismatch fails the type-check). */
export type WireChecks = [Matches<Server.UsageView, UsageView>, Matches<Server.RollupReport, RollupReportView>];
