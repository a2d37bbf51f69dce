export * from './user.schema';
export * from './user.views';
export * from './pagination';
export * from './users.repository';
export * from './users.service';
export * from './users.module';
export * from './last-seen.buffer';
