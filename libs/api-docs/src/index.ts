export * from './api-view.decorator';
export * from './complete-document';
export type { ContractSchemaName } from './contract-schemas.generated';
export * from './examples';
