import type { Conforms, ConversationKeyVersionView, DeviceKeyView, DeviceView, MessageKeyShareView } from '@chat/contracts';
import type * as Server from './index';

/** The views this lib answers with are the wire contract's (a mismatch fails the type-check). */
export type WireChecks = [
  Conforms<Server.DeviceKeyView, DeviceKeyView>,
  Conforms<Server.DeviceView, DeviceView>,
  Conforms<Server.ConversationKeyVersionView, ConversationKeyVersionView>,
  Conforms<Server.MessageKeyShareView, MessageKeyShareView>,
];
