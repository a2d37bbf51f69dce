export * from './usage.schemas';
export * from './usage.repository';
export * from './usage-recorder';
export * from './usage-rollup.service';
export * from './usage.service';
export * from './observability';
export * from './usage.module';
