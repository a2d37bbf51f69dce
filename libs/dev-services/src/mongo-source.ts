import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chatCacheDir } from './ferretdb';
import { findFreePort, isPortOpen } from './ports';

/** Where the MongoDB wire comes from when nothing is configured, in the project's order of preference. */
export type MongoSource = 'uri' | 'memory-server' | 'ferretdb';

export interface MongoSourceChoice {
  source: MongoSource;
  /** One line for the log: why this source. */
  reason: string;
}

/** The mongod release the embedded replica set runs: production is MongoDB 7 (MONGOMS_VERSION overrides). */
export const MONGOD_VERSION = '7.0.14';

/** How long the start waits for the mongod download host before falling back to FerretDB. */
export const MONGOD_DOWNLOAD_PROBE_MS = 3000;

export interface MongodProbe {
  /** mongodb-memory-server (a development dependency) can be loaded. */
  memoryServerInstalled(): Promise<boolean>;
  /** A mongod binary already on this machine (system binary or the download cache), if any. */
  localMongod(): Promise<string | undefined>;
  /** Whether the mongod download host answers within timeoutMs. */
  downloadReachable(timeoutMs: number): Promise<boolean>;
}

export function mongodDownloadDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.MONGOMS_DOWNLOAD_DIR || join(chatCacheDir(env), 'mongodb-binaries');
}

export function mongodVersion(env: NodeJS.ProcessEnv = process.env): string {
  return env.MONGOMS_VERSION || MONGOD_VERSION;
}

function systemMongod(env: NodeJS.ProcessEnv): string | undefined {
  if (env.MONGOMS_SYSTEM_BINARY) return env.MONGOMS_SYSTEM_BINARY;
  const which = spawnSync('sh', ['-c', 'command -v mongod'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() || undefined : undefined;
}

type MemoryServerModule = typeof import('mongodb-memory-server');

async function loadMemoryServer(): Promise<MemoryServerModule | null> {
  try {
    return await import('mongodb-memory-server');
  } catch {
    return null;
  }
}

export function realMongodProbe(env: NodeJS.ProcessEnv = process.env): MongodProbe {
  return {
    memoryServerInstalled: async () => (await loadMemoryServer()) !== null,
    localMongod: async () => {
      const sys = systemMongod(env);
      if (sys) return sys;
      const mod = await loadMemoryServer();
      return mod?.DryMongoBinary.locateBinary({ version: mongodVersion(env), downloadDir: mongodDownloadDir(env) }).catch(() => undefined);
    },
    downloadReachable: async (timeoutMs) => {
      // A proxy (which mongodb-memory-server honours and fetch does not) only has to accept connections.
      const proxy = env.HTTPS_PROXY || env.https_proxy;
      if (proxy) {
        const u = new URL(proxy);
        return isPortOpen(Number(u.port || 80), u.hostname, timeoutMs);
      }
      const host = env.MONGOMS_DOWNLOAD_MIRROR || (env.MONGOMS_DOWNLOAD_URL ? new URL(env.MONGOMS_DOWNLOAD_URL).origin : 'https://fastdl.mongodb.org');
      try {
        await fetch(host, { method: 'HEAD', signal: AbortSignal.timeout(timeoutMs) });
        return true;
      } catch {
        return false;
      }
    },
  };
}

/**
 * MONGODB_URI if set; else a real mongod (mongodb-memory-server, replica set of one) when a binary is
 * on this machine or its download host answers within MONGOD_DOWNLOAD_PROBE_MS; else FerretDB. Shared
 * by `npm start`, the ops CLI and the tests. Offline, the fall-over costs at most the probe timeout.
 */
export async function pickMongoSource(env: NodeJS.ProcessEnv, probe: MongodProbe = realMongodProbe(env)): Promise<MongoSourceChoice> {
  if (env.MONGODB_URI) return { source: 'uri', reason: 'MONGODB_URI is set' };
  if (!(await probe.memoryServerInstalled())) return { source: 'ferretdb', reason: 'mongodb-memory-server (a dev dependency) is not installed' };
  const local = await probe.localMongod();
  if (local) return { source: 'memory-server', reason: `mongod found at ${local}` };
  if (await probe.downloadReachable(MONGOD_DOWNLOAD_PROBE_MS)) return { source: 'memory-server', reason: `no mongod yet: downloading MongoDB ${mongodVersion(env)} once into ${mongodDownloadDir(env)}` };
  return { source: 'ferretdb', reason: `no mongod on this machine and its download host did not answer within ${MONGOD_DOWNLOAD_PROBE_MS} ms` };
}

export interface RunningMemoryServer {
  uri: string;
  stop(): Promise<void>;
}

interface MongodState {
  port: number;
  pid: number;
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
 * A real mongod from mongodb-memory-server as a replica set of one (so transactions and change streams
 * work, as in production). With `dbPath` its data stays there across restarts: the member keeps the
 * port it was first given (the replica set config names host:port), and a mongod still running for
 * the directory (the ops CLI next to `npm start`) is reused. Without `dbPath` it is thrown away on stop.
 */
export async function startMemoryServer(opts: { dbPath?: string; log?: (l: string) => void; env?: NodeJS.ProcessEnv } = {}): Promise<RunningMemoryServer> {
  const env = opts.env ?? process.env;
  const mod = await loadMemoryServer();
  if (!mod) throw new Error('No MongoDB wire server: set MONGODB_URI, or install the dev dependencies (mongodb-memory-server), or Go (FerretDB)');
  const dbPath = opts.dbPath ? resolve(opts.dbPath) : undefined;
  const statePath = dbPath ? join(dbPath, 'chat-mongod.json') : undefined;
  let port: number | undefined;
  if (dbPath && statePath) {
    mkdirSync(dbPath, { recursive: true });
    if (existsSync(statePath)) {
      const st = JSON.parse(readFileSync(statePath, 'utf8')) as MongodState;
      port = st.port;
      if (pidAlive(st.pid) && (await isPortOpen(st.port))) {
        opts.log?.(`Reusing mongod already running for ${dbPath} on port ${st.port} (pid ${st.pid})`);
        return { uri: `mongodb://127.0.0.1:${st.port}/?replicaSet=rs0`, stop: async () => undefined };
      }
    }
  }
  port ??= await findFreePort();
  const rs = await mod.MongoMemoryReplSet.create({
    binary: { version: mongodVersion(env), downloadDir: mongodDownloadDir(env), systemBinary: systemMongod(env) },
    replSet: { count: 1, name: 'rs0', ip: '127.0.0.1', storageEngine: 'wiredTiger' },
    instanceOpts: [{ port, ...(dbPath ? { dbPath } : {}), storageEngine: 'wiredTiger' }],
  });
  const pid = rs.servers[0]?.instanceInfo?.instance.mongodProcess?.pid ?? 0;
  if (statePath) writeFileSync(statePath, JSON.stringify({ port, pid } satisfies MongodState));
  opts.log?.(`mongod (replica set rs0) listening on 127.0.0.1:${port}${dbPath ? `, data in ${dbPath}` : ''}`);
  return { uri: rs.getUri(), stop: async () => void (await rs.stop({ doCleanup: !dbPath })) };
}
