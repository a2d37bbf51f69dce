import type { ClaimedKeyPackageView, KeyPackageCountView, Matches, MlsGroupView, MlsMessageView, MlsWelcomeView } from '@chat/contracts';
import type * as Server from './mls-delivery.service';

/** A server view as JSON carries it (Dates become ISO strings). */
type OnWire<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] };

/** The views this lib answers with are the wire contract's (both ways: a mismatch fails the type-check). */
export type WireChecks = [
  Matches<Server.KeyPackageCountView, KeyPackageCountView>,
  Matches<Server.ClaimedKeyPackageView, ClaimedKeyPackageView>,
  Matches<OnWire<Server.MlsGroupView>, MlsGroupView>,
  Matches<OnWire<Server.MlsMessageView>, MlsMessageView>,
  Matches<OnWire<Server.MlsWelcomeView>, MlsWelcomeView>,
];
