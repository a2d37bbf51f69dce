export * from './retention.schemas';
export * from './retention.repositories';
export * from './retention.service';
export * from './retention.module';
