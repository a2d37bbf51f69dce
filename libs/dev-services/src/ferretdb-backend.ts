import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RunningFerretDb, startFerretDb } from './ferretdb';
import { createPostgresDatabase, dropPostgresDatabase, findPostgres, LOCAL_POSTGRESQL_URL } from './postgres';

/** Where an embedded FerretDB keeps its documents. */
export type FerretDbBackend = { kind: 'sqlite' } | { kind: 'postgresql'; serverUrl: string; database: string };

export interface RunningFerretDbWithBackend extends RunningFerretDb {
  backend: FerretDbBackend;
}

/** Remembered in the data directory so a restart finds its data where the first start put it. */
interface BackendMarker {
  kind: 'sqlite' | 'postgresql';
  database?: string;
}

const MARKER = 'backend.json';

/** The PostgreSQL database of a data directory: stable across restarts, distinct per directory. */
function databaseFor(dataDir: string): string {
  return `chat_${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`;
}

/**
 * Chooses the backend of the embedded FerretDB for dataDir, once: PostgreSQL when one answers
 * (FERRETDB_POSTGRESQL_URL, or 127.0.0.1:5432), because FerretDB's SQLite backend decodes the whole
 * collection for any filter but a bare `{_id}` (history pages 1.7 s vs 19 ms measured on PostgreSQL);
 * SQLite otherwise. The choice is written to dataDir/backend.json and kept on later starts, and a data
 * directory that already holds SQLite files from before stays on SQLite, so no data is left behind.
 */
async function chooseBackend(dataDir: string, env: NodeJS.ProcessEnv, log: (l: string) => void, database?: string): Promise<FerretDbBackend> {
  const markerPath = join(dataDir, MARKER);
  if (existsSync(markerPath)) {
    const m = JSON.parse(readFileSync(markerPath, 'utf8')) as BackendMarker;
    if (m.kind === 'sqlite') return { kind: 'sqlite' };
    const serverUrl = await findPostgres(env, log);
    if (!serverUrl || !m.database) {
      throw new Error(
        `${dataDir} keeps its FerretDB data in PostgreSQL database "${m.database}", but no PostgreSQL answers ` +
          `(start it, or set FERRETDB_POSTGRESQL_URL; default ${LOCAL_POSTGRESQL_URL})`,
      );
    }
    return { kind: 'postgresql', serverUrl, database: m.database };
  }
  let backend: FerretDbBackend;
  if (readdirSync(dataDir).some((f) => f.endsWith('.sqlite'))) {
    log(`FerretDB: ${dataDir} already holds SQLite data: staying on SQLite`);
    backend = { kind: 'sqlite' };
  } else {
    const serverUrl = await findPostgres(env, log);
    backend = serverUrl ? { kind: 'postgresql', serverUrl, database: database ?? databaseFor(dataDir) } : { kind: 'sqlite' };
    if (!serverUrl) {
      const why = env.FERRETDB_POSTGRESQL_URL === 'none' ? 'FERRETDB_POSTGRESQL_URL=none' : 'no PostgreSQL answers on 127.0.0.1:5432 (nor FERRETDB_POSTGRESQL_URL)';
      log(`FerretDB: ${why}: using SQLite, where most filters scan`);
    }
  }
  writeFileSync(markerPath, JSON.stringify({ kind: backend.kind, ...(backend.kind === 'postgresql' ? { database: backend.database } : {}) } satisfies BackendMarker));
  return backend;
}

/**
 * Starts (or reuses) the embedded FerretDB of dataDir on its backend (see chooseBackend). `database`
 * names the PostgreSQL database for a fresh directory (tests give one per run); by default it is
 * derived from the directory.
 */
export async function startEmbeddedFerretDb(opts: {
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  log?: (l: string) => void;
  database?: string;
  reuse?: boolean;
}): Promise<RunningFerretDbWithBackend> {
  const log = opts.log ?? console.log;
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const backend = await chooseBackend(dataDir, opts.env ?? process.env, log, opts.database);
  const postgresqlUrl = backend.kind === 'postgresql' ? await createPostgresDatabase(backend.serverUrl, backend.database) : undefined;
  const running = await startFerretDb({ dataDir, log, reuse: opts.reuse, postgresqlUrl });
  return { ...running, backend };
}

/** Stops a FerretDB started by startEmbeddedFerretDb and drops its PostgreSQL database (tests). */
export async function stopAndDropFerretDb(f: RunningFerretDbWithBackend): Promise<void> {
  await f.stop();
  if (f.backend.kind === 'postgresql') await dropPostgresDatabase(f.backend.serverUrl, f.backend.database);
}

/** Drops the PostgreSQL database a data directory's FerretDB used, if any (cleanup of a throwaway directory). */
export async function dropFerretDbDataOf(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const markerPath = join(resolve(dataDir), MARKER);
  if (!existsSync(markerPath)) return;
  const m = JSON.parse(readFileSync(markerPath, 'utf8')) as BackendMarker;
  if (m.kind !== 'postgresql' || !m.database) return;
  const serverUrl = await findPostgres(env, () => undefined);
  if (serverUrl) await dropPostgresDatabase(serverUrl, m.database);
}
