import type { ChangesPage, ChannelSummary, ConversationView, Matches, MessageContent, MessageView, Page, ReceiptView, RelationshipView } from '@chat/contracts';
import type * as Server from './index';

/** The views this lib answers with are the wire contract's (both ways: a mismatch fails the type-check). */
export type WireChecks = [
  Matches<Server.MessageView, MessageView>,
  Matches<Server.ChangesPage, ChangesPage>,
  Matches<Server.ReceiptView, ReceiptView>,
  Matches<Server.ConversationResponse, ConversationView>,
  Matches<Server.ChannelSummary, ChannelSummary>,
  Matches<Server.RelationshipView, RelationshipView>,
  Matches<Server.Page<Server.MessageView>, Page<MessageView>>,
  Matches<Server.MessageContent, MessageContent>,
];
