import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, openSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { findFreePort, isPortOpen, waitForPort } from './ports';
import { redact } from './postgres';

export const FERRETDB_VERSION = 'v1.24.2';

/**
 * FerretDB v1.24.2 on PostgreSQL takes a second pool connection for the write of an update or a
 * findAndModify while the first still holds its query's rows (handler/msg_findandmodify.go): once as
 * many such commands run at once as its pool has connections, each holds one and all wait for ever for
 * another (reproduced by test/ferretdb-pool.e2e-spec.ts: two clients of 50 connections against its
 * default pool of 50 wedged it in the third round). So the embedded FerretDB gets a pool of this size
 * (`pool_max_conns`) and every app process using it a driver pool of FERRETDB_CLIENT_POOL_SIZE, which
 * leaves up to four processes (tests run two or three on one FerretDB) under it with room to spare.
 */
export const FERRETDB_PG_POOL_SIZE = 40;
/** The driver pool (MONGODB_POOL_SIZE) of an app process on the embedded FerretDB: see FERRETDB_PG_POOL_SIZE. */
export const FERRETDB_CLIENT_POOL_SIZE = 8;

/**
 * Points an app process's environment at a running embedded FerretDB: its URI, and a driver pool under
 * FerretDB's own (FERRETDB_PG_POOL_SIZE says why) unless MONGODB_POOL_SIZE is set.
 */
export function useEmbeddedFerretDb(env: NodeJS.ProcessEnv, ferretdb: { uri: string }): void {
  env.MONGODB_URI = ferretdb.uri;
  env.MONGODB_POOL_SIZE ||= String(FERRETDB_CLIENT_POOL_SIZE);
}

/** The PostgreSQL URL with FerretDB's pool size set, unless the URL sets one itself. */
export function withFerretDbPool(postgresqlUrl: string): string {
  const url = new URL(postgresqlUrl);
  if (!url.searchParams.has('pool_max_conns')) url.searchParams.set('pool_max_conns', String(FERRETDB_PG_POOL_SIZE));
  return url.toString();
}

/** Where built or downloaded service binaries are kept, outside the repository. */
export function chatCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CHAT_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'chat-platform');
}

/** Built with the three index fixes (two for `_id`, GIN for `ferretdb_gin_*`) unless FERRETDB_ID_INDEX_FIX=0 (see scripts/install-ferretdb.sh). */
export function ferretDbBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FERRETDB_BIN) return env.FERRETDB_BIN;
  const cache = chatCacheDir(env);
  const suffix = env.FERRETDB_ID_INDEX_FIX === '0' ? '' : '-idfix3';
  return join(cache, 'bin', `ferretdb-${FERRETDB_VERSION}${suffix}`);
}

function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'scripts', 'install-ferretdb.sh'))) return dir;
    dir = resolve(dir, '..');
  }
  return process.cwd();
}

/** FerretDB can run here: built already, or Go is installed to build it. */
export function ferretDbAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  return existsSync(ferretDbBinaryPath(env)) || spawnSync('sh', ['-c', 'command -v go'], { stdio: 'ignore' }).status === 0;
}

/** Builds FerretDB once (showing progress) if the cached binary is missing; returns its path. */
export function ensureFerretDbBinary(log: (line: string) => void = console.log): string {
  const bin = ferretDbBinaryPath();
  if (existsSync(bin)) return bin;
  log(`FerretDB ${FERRETDB_VERSION} not built yet: building it now (needs Go; done once, then reused)`);
  execFileSync('bash', [join(repoRoot(), 'scripts', 'install-ferretdb.sh')], { stdio: 'inherit', env: { ...process.env, FERRETDB_BIN: bin } });
  if (!existsSync(bin)) throw new Error(`FerretDB build did not produce ${bin}`);
  return bin;
}

export interface RunningFerretDb {
  uri: string;
  port: number;
  /** Null when an already-running instance for the same data directory was reused. */
  process: ChildProcess | null;
  stop(): Promise<void>;
}

interface StateFile {
  pid: number;
  port: number;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs FerretDB on loopback, telemetry off and no debug listener: on PostgreSQL when `postgresqlUrl`
 * (a database URL) is given, else with its SQLite backend in dataDir. State and log stay in dataDir.
 * If a FerretDB this helper started earlier for the same dataDir still runs (the app was killed hard),
 * it is reused instead of fighting over the SQLite files.
 */
export async function startFerretDb(opts: {
  dataDir: string;
  port?: number;
  log?: (l: string) => void;
  reuse?: boolean;
  postgresqlUrl?: string;
}): Promise<RunningFerretDb> {
  const log = opts.log ?? console.log;
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const statePath = join(dataDir, 'ferretdb.json');
  if (opts.reuse !== false && existsSync(statePath)) {
    try {
      const st = JSON.parse(readFileSync(statePath, 'utf8')) as StateFile;
      if (pidAlive(st.pid) && (await isPortOpen(st.port))) {
        log(`Reusing FerretDB already running for ${dataDir} on port ${st.port} (pid ${st.pid})`);
        return { uri: `mongodb://127.0.0.1:${st.port}/`, port: st.port, process: null, stop: async () => undefined };
      }
    } catch {
      /* stale or corrupt state: start a new one */
    }
  }
  const bin = ensureFerretDbBinary(log);
  const port = opts.port ?? (await findFreePort());
  const logFd = openSync(join(dataDir, 'ferretdb.log'), 'a');
  const child = spawn(
    bin,
    [
      ...(opts.postgresqlUrl ? ['--handler=postgresql', `--postgresql-url=${withFerretDbPool(opts.postgresqlUrl)}`] : ['--handler=sqlite', `--sqlite-url=file:${dataDir}/`]),
      `--listen-addr=127.0.0.1:${port}`,
      `--state-dir=${dataDir}`,
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=warn',
    ],
    { stdio: ['ignore', logFd, logFd], detached: false, env: { ...process.env, DO_NOT_TRACK: '1', FERRETDB_TELEMETRY: 'disable' } },
  );
  let exited = false;
  child.once('exit', () => (exited = true));
  await waitForPort(port, '127.0.0.1', 30_000, () => !exited);
  writeFileSync(statePath, JSON.stringify({ pid: child.pid ?? 0, port } satisfies StateFile));
  const where = opts.postgresqlUrl ? `PostgreSQL ${redact(opts.postgresqlUrl)}` : `SQLite under ${dataDir}`;
  log(`FerretDB ${FERRETDB_VERSION} listening on 127.0.0.1:${port}, data in ${where}`);
  return {
    uri: `mongodb://127.0.0.1:${port}/`,
    port,
    process: child,
    stop: () =>
      new Promise<void>((res) => {
        if (exited) return res();
        child.once('exit', () => res());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
