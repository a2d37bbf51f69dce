import type { ActorRef, ConversationModerationView, Matches, PinView, RestrictionView, UserBanView } from '@chat/contracts';
import type * as Server from './index';

/** The views this lib answers with are the wire contract's (both ways: a mismatch fails the type-check). */
export type WireChecks = [
  Matches<Server.ActorRef, ActorRef>,
  Matches<Server.UserBanView, UserBanView>,
  Matches<Server.RestrictionView, RestrictionView>,
  Matches<Server.ConversationModerationView, ConversationModerationView>,
  Matches<Server.PinView, PinView>,
];
