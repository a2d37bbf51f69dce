import { spawn, spawnSync } from 'node:child_process';
import { findFreePort, waitForPort } from './ports';

/**
 * Starts a throwaway redis-server on a loopback port (a free one unless given: a test that restarts
 * Redis passes the old port back), for tests when no Redis answers.
 */
export async function startRedisServer(opts: { port?: number } = {}): Promise<{ url: string; port: number; stop(): Promise<void> }> {
  const which = spawnSync('sh', ['-c', 'command -v redis-server']);
  if (which.status !== 0) {
    throw new Error('No Redis answers on 127.0.0.1:6379 and no redis-server binary is installed: install Redis (apt-get install redis-server) or set REDIS_URL');
  }
  const port = opts.port ?? (await findFreePort());
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => (exited = true));
  await waitForPort(port, '127.0.0.1', 10_000, () => !exited);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((res) => {
        if (exited) return res();
        child.once('exit', () => res());
        child.kill('SIGTERM');
      }),
  };
}
