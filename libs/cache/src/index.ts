export * from './cache.service';
export * from './cache.module';
export { CacheDropKeys, CacheStoreGuard, GENERATION_TTL_SECONDS } from './cache-scripts';
export { DeepReadonly, deepFreeze } from './parsed-memo';
