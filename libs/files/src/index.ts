export * from './file.schema';
export * from './files.repository';
export * from './file-deletion';
export * from './files.service';
export * from './files-sweeper';
export * from './s3-storage.service';
export * from './files.module';
