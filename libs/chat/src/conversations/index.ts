export * from './conversation.schema';
export * from './conversation-id';
export * from './conversation.views';
export * from './conversations.repository';
export * from './conversations.service';
export { ConversationAccess, conversationCacheKey, memberConversationIdsCacheKey } from './conversation-access';
export * from './conversation-membership.service';
export * from './conversations.module';
export * from './conversation-policy';
