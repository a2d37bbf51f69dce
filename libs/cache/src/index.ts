export * from './cache.service';
export * from './cache.module';
