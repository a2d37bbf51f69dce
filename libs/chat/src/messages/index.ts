export * from './message.schema';
export * from './message.dto';
export * from './message.view';
export * from './messages.repository';
export * from './message-id';
export * from './message-write-batcher';
export * from './messages.service';
export * from './messages.module';
