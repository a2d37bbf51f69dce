import { Global, Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import mongoose, { type Connection } from 'mongoose';
import { AppConfig } from '@chat/config';
import { TenantConnectionResolver } from '@chat/tenancy';
import { DatabaseInfo } from './database-info';
import { DbCommandMonitor } from './db-command-monitor';
import { DocumentWriteLock } from './document-write-lock';
import { StoreDialect } from './store-dialect';

// Mongoose formats a stack trace (`new Error().stack`) at every query's exec, only to attach it to a
// "Query was already executed" error should the same query object run twice (none here does): about
// 1 % of the server's CPU on the send path (bench/RESULTS.md). That error still carries its own stack.
mongoose.set('skipOriginalStackTraces', true);

@Global()
@Module({
  imports: [
    MongooseModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        if (!config.MONGODB_URI) throw new Error('MONGODB_URI is not set and no embedded database was started');
        return {
          uri: config.MONGODB_URI,
          dbName: config.MONGODB_DB,
          maxPoolSize: config.MONGODB_POOL_SIZE,
          readPreference: config.MONGODB_READ_PREFERENCE as any,
          writeConcern: { w: /^\d+$/.test(config.MONGODB_WRITE_CONCERN) ? Number(config.MONGODB_WRITE_CONCERN) : 'majority' },
          serverSelectionTimeoutMS: 10_000,
          monitorCommands: true,
          autoIndex: config.MONGODB_AUTO_INDEX,
          // Reconnect quietly; readiness reports the outage.
          retryWrites: false,
          connectionFactory: (conn: Connection) => {
            DbCommandMonitor.attach(conn, config.MONGODB_SLOW_QUERY_MS);
            return conn;
          },
        };
      },
    }),
  ],
  providers: [
    DatabaseInfo,
    DocumentWriteLock,
    StoreDialect,
    { provide: TenantConnectionResolver, inject: [AppConfig], useFactory: (c: AppConfig) => new TenantConnectionResolver(c.TENANT_DEDICATED_DATABASES) },
  ],
  exports: [MongooseModule, DatabaseInfo, DocumentWriteLock, StoreDialect, TenantConnectionResolver],
})
export class DatabaseModule {}

