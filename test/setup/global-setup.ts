/* Starts the real services once per test run: MongoDB wire (MONGODB_URI, else a real mongod replica
 * set of one through mongodb-memory-server, else FerretDB on PostgreSQL, else FerretDB on SQLite),
 * Redis (REDIS_URL, else 127.0.0.1:6379, else a redis-server of our own) and an S3-compatible server
 * (S3_ENDPOINT, else s3rver). Relative imports: this file runs before module mapping. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedFerretDb, stopAndDropFerretDb } from '../../libs/dev-services/src/ferretdb-backend';
import { useEmbeddedFerretDb } from '../../libs/dev-services/src/ferretdb';
import { pickMongoSource, startMemoryServer } from '../../libs/dev-services/src/mongo-source';
import { dropStaleTestDatabases, findPostgres } from '../../libs/dev-services/src/postgres';
import { isPortOpen } from '../../libs/dev-services/src/ports';
import { startRedisServer } from '../../libs/dev-services/src/redis-server';
import { startS3Server } from '../../libs/dev-services/src/s3-server';

type Stopper = () => Promise<void>;
const log = (l: string) => process.stdout.write(`[test services] ${l}\n`);

export default async function globalSetup(): Promise<void> {
  const stoppers: Stopper[] = [];
  const root = mkdtempSync(join(tmpdir(), 'chat-test-'));
  process.env.NODE_ENV = 'test';
  process.env.LOG_LEVEL = process.env.LOG_LEVEL ?? 'warn';
  process.env.CHAT_TEST_TMP = root;

  const t0 = Date.now();
  let mongo = await pickMongoSource(process.env);
  log(`MongoDB: ${mongo.source} (${mongo.reason}; chosen in ${Date.now() - t0} ms)`);
  if (mongo.source === 'memory-server') {
    try {
      const m = await startMemoryServer({ log });
      process.env.MONGODB_URI = m.uri;
      stoppers.push(m.stop);
    } catch (err) {
      mongo = { source: 'ferretdb', reason: `mongod did not start: ${(err as Error).message}` };
      log(`MongoDB: falling back to FerretDB (${mongo.reason})`);
    }
  }
  if (mongo.source === 'ferretdb') {
    // On PostgreSQL (when one answers) in a database of this run's own, dropped in the teardown.
    const database = `chat_test_${process.pid}_${randomBytes(3).toString('hex')}`;
    const pg = await findPostgres(process.env, () => undefined);
    if (pg) {
      const dropped = await dropStaleTestDatabases(pg);
      if (dropped.length) log(`PostgreSQL: dropped ${dropped.length} database(s) of test runs that ended without teardown`);
    }
    const f = await startEmbeddedFerretDb({ dataDir: join(root, 'ferretdb'), log, reuse: false, database });
    // Every app of the run (in-process or a child) gets its URI and a driver pool under FerretDB's.
    useEmbeddedFerretDb(process.env, f);
    stoppers.push(() => stopAndDropFerretDb(f));
  }

  if (process.env.REDIS_URL) {
    log('Redis: using REDIS_URL');
  } else if (await isPortOpen(6379)) {
    process.env.REDIS_URL = 'redis://127.0.0.1:6379';
    log('Redis: using 127.0.0.1:6379');
  } else {
    const r = await startRedisServer();
    process.env.REDIS_URL = r.url;
    stoppers.push(r.stop);
    log(`Redis: started our own on ${r.url}`);
  }

  if (process.env.S3_ENDPOINT) {
    log('S3: using S3_ENDPOINT');
  } else {
    const bucket = process.env.S3_BUCKET ?? 'chat-test-files';
    const s3 = await startS3Server({ dir: join(root, 's3'), bucket, log });
    Object.assign(process.env, {
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    });
    stoppers.push(s3.stop);
  }
  // Test runs never share Redis keys with a running dev server or with each other.
  process.env.REDIS_KEY_PREFIX = `t${process.pid}:`;
  (globalThis as { __CHAT_TEST_STOPPERS__?: Stopper[] }).__CHAT_TEST_STOPPERS__ = stoppers;
}
