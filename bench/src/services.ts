import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createPostgresDatabase,
  dropPostgresDatabase,
  findFreePort,
  findPostgres,
  redact,
  startFerretDb,
  waitForPort,
  type RunningFerretDb,
} from '../../libs/dev-services/src';
import type { Store } from './options';

/**
 * The services a run needs, started by the harness on loopback (they inherit the harness's core
 * pinning): a throwaway redis-server (REDIS_URL overrides) and FerretDB with a fresh data directory
 * (BENCH_MONGODB_URI overrides) on the chosen store. Every run then uses its own database name and
 * Redis key prefix.
 */
export interface Services {
  redisUrl: string;
  mongoUri: string;
  pids: Record<string, number>;
  dataDir: string;
  /** What B+db and the project write to, for the report. */
  store: string;
  stop(): Promise<void>;
}

/**
 * The FerretDB backend of an invocation: the one asked for (`--store`), else PostgreSQL when one
 * answers (pgUrl non-null), else SQLite. Asking for PostgreSQL when none answers is an error, so a
 * run labelled PostgreSQL never silently measures SQLite.
 */
export function resolveStore(requested: Store | null, pgUrl: string | null): Store {
  if (requested === 'ferretdb-pg' && !pgUrl) {
    throw new Error('--store ferretdb-pg: no PostgreSQL answers on 127.0.0.1:5432 (nor FERRETDB_POSTGRESQL_URL)');
  }
  return requested ?? (pgUrl ? 'ferretdb-pg' : 'ferretdb-sqlite');
}

export async function startServices(opts: { needDb: boolean; store: Store | null; log: (l: string) => void }): Promise<Services> {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-bench-'));
  const pids: Record<string, number> = {};
  let redis: ChildProcess | null = null;
  let redisUrl = process.env.BENCH_REDIS_URL ?? '';
  if (!redisUrl) {
    const port = await findFreePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    let exited = false;
    redis.once('exit', () => (exited = true));
    await waitForPort(port, '127.0.0.1', 10_000, () => !exited);
    redisUrl = `redis://127.0.0.1:${port}`;
    pids.redis = redis.pid!;
    opts.log(`redis-server on ${redisUrl} (pid ${redis.pid})`);
  }
  let ferret: RunningFerretDb | null = null;
  let mongoUri = process.env.BENCH_MONGODB_URI ?? '';
  let store = mongoUri ? 'BENCH_MONGODB_URI' : 'none';
  // A fresh PostgreSQL database per invocation, dropped by stop(): runs never see each other's data.
  let pg: { serverUrl: string; database: string } | null = null;
  if (!mongoUri && opts.needDb) {
    // With --store ferretdb-sqlite PostgreSQL is not even probed.
    const pgUrl = opts.store === 'ferretdb-sqlite' ? null : await findPostgres(process.env, opts.log);
    const chosen = resolveStore(opts.store, pgUrl);
    let postgresqlUrl: string | undefined;
    if (chosen === 'ferretdb-pg') {
      pg = { serverUrl: pgUrl!, database: `chat_bench_${process.pid}_${randomBytes(4).toString('hex')}` };
      postgresqlUrl = await createPostgresDatabase(pg.serverUrl, pg.database);
    }
    ferret = await startFerretDb({ dataDir: join(dataDir, 'ferretdb'), reuse: false, log: opts.log, postgresqlUrl });
    mongoUri = ferret.uri;
    store = pg ? `FerretDB on PostgreSQL (${redact(pg.serverUrl)}, database ${pg.database})` : 'FerretDB on SQLite';
    opts.log(`store: ${store}`);
    if (ferret.process?.pid) pids.ferretdb = ferret.process.pid;
  }
  return {
    redisUrl,
    mongoUri,
    pids,
    dataDir,
    store,
    stop: async () => {
      await ferret?.stop();
      if (pg) await dropPostgresDatabase(pg.serverUrl, pg.database).catch((err: Error) => opts.log(`could not drop ${pg!.database}: ${err.message}`));
      if (redis && redis.exitCode === null) {
        await new Promise<void>((res) => {
          redis!.once('exit', () => res());
          redis!.kill('SIGTERM');
          setTimeout(() => redis!.kill('SIGKILL'), 3000).unref();
        });
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
