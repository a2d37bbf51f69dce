import { ConsoleLogger, INestApplicationContext, LogLevel, Type } from '@nestjs/common';

/** Nest logs of a CLI run go to stderr: stdout carries only the command's output (--json). */
class StderrLogger extends ConsoleLogger {
  protected override printMessages(messages: unknown[], context?: string, logLevel?: LogLevel): void {
    super.printMessages(messages, context, logLevel, 'stderr');
  }
}
import { NestFactory } from '@nestjs/core';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { mongo } from 'mongoose';
import { AppConfig, loadConfig } from '@chat/config';
import { BackupService } from '../backup.service';
import { S3ObjectStore } from '../object-store';
import { tenantScopeFromConnection } from '../tenant-scope';
import { join } from 'node:path';
import { RunningS3, startEmbeddedMongo, startS3Server } from '@chat/dev-services';

/**
 * What a command runs against. Outside production an unset MONGODB_URI means the embedded database
 * of DATA_DIR (mongod or FerretDB, reused when the dev server already runs it), exactly like `npm start`.
 */
export class OpsContext {
  private client?: mongo.MongoClient;
  private app?: INestApplicationContext;
  private stopEmbedded?: () => Promise<void>;
  private embeddedS3?: RunningS3;
  config!: AppConfig;

  async init(): Promise<void> {
    if (!process.env.MONGODB_URI && process.env.NODE_ENV !== 'production') {
      const dataDir = process.env.DATA_DIR || './data';
      const f = await startEmbeddedMongo(dataDir, process.env, (l) => process.stderr.write(`[embedded] ${l}\n`));
      process.env.MONGODB_URI = f.uri;
      this.stopEmbedded = f.stop;
    }
    // Commands build indexes themselves (with progress) and must not start background jobs.
    process.env.MONGODB_AUTO_INDEX = 'false';
    process.env.RETENTION_INTERVAL_SECONDS = '0';
    process.env.USAGE_ROLLUP_INTERVAL_SECONDS = '0';
    this.config = loadConfig();
  }

  get dbName(): string {
    return this.config.MONGODB_DB;
  }

  /** tenant -> dedicated database, from TENANT_DEDICATED_DATABASES. */
  get dedicated(): Map<string, string> {
    const map = new Map<string, string>();
    for (const pair of (this.config.TENANT_DEDICATED_DATABASES ?? '').split(',').filter(Boolean)) {
      const [t, db] = pair.split('=');
      map.set(t.trim(), db.trim());
    }
    return map;
  }

  /** A plain driver connection: enough for commands that need no models (fast start). */
  async mongo(): Promise<mongo.MongoClient> {
    if (this.app) return this.connection().getClient() as unknown as mongo.MongoClient;
    if (!this.client) this.client = await mongo.MongoClient.connect(this.config.MONGODB_URI!, { serverSelectionTimeoutMS: 10_000 });
    return this.client;
  }

  async db(): Promise<mongo.Db> {
    return (await this.mongo()).db(this.dbName);
  }

  /**
   * The whole platform (every app module) as a Nest application context without HTTP: every Mongoose
   * model of every feature is registered, so setup, erase and export cover new collections by themselves.
   */
  constructor(private readonly rootModule: () => Promise<Type<unknown>>) {}

  async nest(): Promise<INestApplicationContext> {
    if (!this.app) this.app = await NestFactory.createApplicationContext(await this.rootModule(), { logger: new StderrLogger('cli', { logLevels: ['error', 'warn'] }) });
    return this.app;
  }

  connection(): Connection {
    if (!this.app) throw new Error('nest() first');
    return this.app.get<Connection>(getConnectionToken());
  }

  async backupService(opts: { withModels: boolean; restore?: boolean }): Promise<{ service: BackupService; close: () => void }> {
    // A restore builds only the archived indexes the store builds: the schemas that declare MongoDB-only
    // ones (libs/database mongoOnlyIndex) register them when their modules load, without starting the app.
    if (opts.restore) await this.rootModule();
    const rules = opts.withModels ? tenantScopeFromConnection((await this.nest(), this.connection())) : [];
    const objects = await this.objectStore();
    const service = new BackupService({ client: await this.mongo(), mainDb: this.dbName, dedicated: this.dedicated, rules, objects });
    return { service, close: () => objects?.destroy() };
  }

  /**
   * The file objects' store. Outside production an unset S3_ENDPOINT means the embedded store of
   * DATA_DIR/s3, as for `npm start`: its credentials are generated at each start and never written
   * down, so the CLI starts its own front over the same directory (s3rver keeps objects as plain files,
   * so this works while the dev server runs too) instead of borrowing the server's.
   */
  private async objectStore(): Promise<S3ObjectStore | undefined> {
    if (this.config.S3_ENDPOINT) return new S3ObjectStore(this.config);
    if (this.config.NODE_ENV === 'production') return undefined;
    this.embeddedS3 ??= await startS3Server({ dir: join(this.config.DATA_DIR, 's3'), bucket: this.config.S3_BUCKET, log: (l) => process.stderr.write(`[embedded] ${l}\n`) });
    const s3 = this.embeddedS3;
    return new S3ObjectStore({ ...this.config, S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY_ID: s3.accessKeyId, S3_SECRET_ACCESS_KEY: s3.secretAccessKey, S3_FORCE_PATH_STYLE: true });
  }

  async close(): Promise<void> {
    await this.app?.close().catch(() => undefined);
    await this.client?.close().catch(() => undefined);
    await this.embeddedS3?.stop().catch(() => undefined);
    await this.stopEmbedded?.();
  }
}
