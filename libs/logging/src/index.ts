export * from './logging.module';
export * from './quiet-startup';
