import type { ActorRef, Conforms, ConversationModerationView, PinView, RestrictionView, UserBanView } from '@chat/contracts';
import type * as Server from './index';

/** The views this lib answers with are the wire contract's (a mismatch fails the type-check). */
export type WireChecks = [
  Conforms<Server.ActorRef, ActorRef>,
  Conforms<Server.UserBanView, UserBanView>,
  Conforms<Server.RestrictionView, RestrictionView>,
  Conforms<Server.ConversationModerationView, ConversationModerationView>,
  Conforms<Server.PinView, PinView>,
];
