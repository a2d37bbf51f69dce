export * from './tenant-id';
export * from './tenant-context';
export * from './tenant-guard.plugin';
export * from './tenant-connection.resolver';
export * from './tenant.repository';
export { setIdOnlyLookups, usesIdOnlyLookups } from './id-lookups';
export * from './tenant-batch-loader';
export { unguessableObjectId } from './unguessable-id';
