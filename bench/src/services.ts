import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort, startFerretDb, waitForPort, type RunningFerretDb } from '../../libs/dev-services/src';

/**
 * The services a run needs, started by the harness on loopback (they inherit the harness's core
 * pinning): a throwaway redis-server (REDIS_URL overrides) and FerretDB with a fresh data directory
 * (MONGODB_URI overrides). Every run then uses its own database name and Redis key prefix.
 */
export interface Services {
  redisUrl: string;
  mongoUri: string;
  pids: Record<string, number>;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startServices(opts: { needDb: boolean; log: (l: string) => void }): Promise<Services> {
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
  if (!mongoUri && opts.needDb) {
    ferret = await startFerretDb({ dataDir: join(dataDir, 'ferretdb'), reuse: false, log: opts.log });
    mongoUri = ferret.uri;
    if (ferret.process?.pid) pids.ferretdb = ferret.process.pid;
  }
  return {
    redisUrl,
    mongoUri,
    pids,
    dataDir,
    stop: async () => {
      await ferret?.stop();
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
