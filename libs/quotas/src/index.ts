export * from './rate-limiter';
export * from './quota.service';
export * from './quotas.module';
