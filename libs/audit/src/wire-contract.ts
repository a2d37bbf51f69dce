import type { AuditLogView, Matches } from '@chat/contracts';
import type * as Server from './index';

/** The views this lib answers with are the wire contract's (both ways: a mismatch fails the type-check). */
export type WireChecks = [Matches<Server.AuditLogView, AuditLogView>];
