export * from './migration';
export * from './migrator';
export * from './registry';
export * from './setup';
