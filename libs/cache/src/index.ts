export * from './cache.service';
export * from './cache.module';
export { CacheDropKeys, CacheStoreGuard, GENERATION_TTL_SECONDS } from './cache-scripts';
