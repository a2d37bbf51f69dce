export * from './device-key.schema';
export * from './device-keys.repository';
export * from './key-directory.service';
export * from './keys.module';
export * from './key-shares.service';
