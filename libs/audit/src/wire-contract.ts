import type { AuditLogView, Conforms } from '@chat/contracts';
import type * as Server from './index';

/** The views this lib answers with are the wire contract's (a mismatch fails the type-check). */
export type WireChecks = [Conforms<Server.AuditLogView, AuditLogView>];
