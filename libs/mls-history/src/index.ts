export * from './mls-history.schema';
export * from './mls-history.repository';
export * from './key-backup.service';
export * from './history.service';
export * from './mls-history.module';
