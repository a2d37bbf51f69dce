import type { ClaimedKeyPackageView, Conforms, KeyPackageCountView, MlsGroupView, MlsMessageView, MlsWelcomeView } from '@chat/contracts';
import type * as Server from './mls-delivery.service';

/** A server view as JSON carries it (Dates become ISO strings). */
type OnWire<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] };

/** The views this lib answers with are the wire contract's (a mismatch fails the type-check). */
export type WireChecks = [
  Conforms<Server.KeyPackageCountView, KeyPackageCountView>,
  Conforms<Server.ClaimedKeyPackageView, ClaimedKeyPackageView>,
  Conforms<OnWire<Server.MlsGroupView>, MlsGroupView>,
  Conforms<OnWire<Server.MlsMessageView>, MlsMessageView>,
  Conforms<OnWire<Server.MlsWelcomeView>, MlsWelcomeView>,
];
