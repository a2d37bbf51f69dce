import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { ferretDbBinaryPath } from './ferretdb';

/** Where the MongoDB wire comes from when nothing is configured, in the project's order of preference. */
export type MongoSource = 'uri' | 'ferretdb' | 'memory-server';

export interface MongoSourceProbe {
  ferretDbBuilt(): boolean;
  goAvailable(): boolean;
}

const realProbe: MongoSourceProbe = {
  ferretDbBuilt: () => existsSync(ferretDbBinaryPath()),
  goAvailable: () => spawnSync('sh', ['-c', 'command -v go'], { stdio: 'ignore' }).status === 0,
};

/**
 * MONGODB_URI if set; else FerretDB when its binary is built or Go can build it; else
 * mongodb-memory-server (it downloads a mongod, so it needs internet). Shared by `npm start` and tests.
 */
export function pickMongoSource(env: NodeJS.ProcessEnv, probe: MongoSourceProbe = realProbe): MongoSource {
  if (env.MONGODB_URI) return 'uri';
  if (probe.ferretDbBuilt() || probe.goAvailable()) return 'ferretdb';
  return 'memory-server';
}

export interface RunningMemoryServer {
  uri: string;
  stop(): Promise<void>;
}

/**
 * A real mongod from mongodb-memory-server (a development dependency). With `dbPath` its data stays in
 * that directory across restarts (WiredTiger); without, it is thrown away on stop.
 */
export async function startMemoryServer(opts: { dbPath?: string; log?: (l: string) => void } = {}): Promise<RunningMemoryServer> {
  let mod: typeof import('mongodb-memory-server');
  try {
    mod = await import('mongodb-memory-server');
  } catch {
    throw new Error('No MongoDB wire server: set MONGODB_URI, or install Go (FerretDB is built from source), or install the dev dependencies (mongodb-memory-server)');
  }
  if (opts.dbPath) mkdirSync(opts.dbPath, { recursive: true });
  opts.log?.('MongoDB: no FerretDB binary and no Go toolchain: starting mongodb-memory-server (downloads a mongod once)');
  const m = await mod.MongoMemoryServer.create({
    instance: { ip: '127.0.0.1', ...(opts.dbPath ? { dbPath: opts.dbPath, storageEngine: 'wiredTiger' as const } : {}) },
  });
  return { uri: m.getUri(), stop: async () => void (await m.stop({ doCleanup: !opts.dbPath })) };
}
