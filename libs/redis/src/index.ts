export * from './redis.service';
export * from './redis.module';
export * from './subscriber-heartbeat';
export * from './reconnect-guard';
export * from './redis-lease';
