export * from './audit-log.schema';
export * from './audit.service';
export * from './audit.module';
