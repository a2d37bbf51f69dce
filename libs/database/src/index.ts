export * from './mongo-capabilities';
export * from './database-info';
export * from './database.module';
export * from './db-command-monitor';
export * from './document-write-lock';
export * from './duplicate-key';
export * from './store-dialect';
export * from './event-trace';
