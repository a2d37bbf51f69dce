export * from './mls.schema';
export * from './mls.repository';
export * from './mls-delivery.service';
export * from './mls.module';
export * from './mls-send-gate';
export * from './mls-send-state';
export * from './mls-send-gate.module';
