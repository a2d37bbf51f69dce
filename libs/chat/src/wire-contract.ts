import type { ChangesPage, ChannelSummary, Conforms, MessageContent, Page, ReceiptView, RelationshipView, ConversationView, MessageView } from '@chat/contracts';
import type * as Server from './index';

/** The views this lib answers with are the wire contract's (a mismatch fails the type-check). */
export type WireChecks = [
  Conforms<Server.MessageView, MessageView>,
  Conforms<Server.ChangesPage, ChangesPage>,
  Conforms<Server.ReceiptView, ReceiptView>,
  Conforms<Server.ConversationResponse, ConversationView>,
  Conforms<Server.ChannelSummary, ChannelSummary>,
  Conforms<Server.RelationshipView, RelationshipView>,
  Conforms<Server.Page<Server.MessageView>, Page<MessageView>>,
  Conforms<Server.MessageContent, MessageContent>,
];
