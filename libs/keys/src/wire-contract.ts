import type { ConversationKeyVersionView, DeviceKeyView, DeviceView, Matches, MessageKeyShareView } from '@chat/contracts';
import type * as Server from './index';

/** The views this lib answers with are the wire contract's (both ways: a mismatch fails the type-check). */
export type WireChecks = [
  Matches<Server.DeviceKeyView, DeviceKeyView>,
  Matches<Server.DeviceView, DeviceView>,
  Matches<Server.ConversationKeyVersionView, ConversationKeyVersionView>,
  Matches<Server.MessageKeyShareView, MessageKeyShareView>,
];
