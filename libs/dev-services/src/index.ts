export * from './ports';
export * from './ferretdb';
export * from './ferretdb-backend';
export * from './postgres';
export * from './s3-server';
export * from './redis-server';
export * from './embedded-services';
export * from './mongo-source';
