export * from './conversation.schema';
export * from './conversation.views';
export * from './conversations.repository';
export * from './conversations.service';
export * from './conversations.module';
export * from './conversation-policy';
