export * from './events/chat-events';
export * from './chat.module';
export * from './users';
export * from './relationships';
export * from './conversations';
export * from './messages';
