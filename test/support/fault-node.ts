/* An all-in-one node in its own process with the fault points loaded (fault-points.js), so a test can
 * kill it (SIGKILL) at a chosen point of a write, then check what survives after a restart. */
import { join } from 'node:path';
import request from 'supertest';
import { findFreePort, waitForPort } from '@chat/dev-services';
import { AppProcess, spawnAllInOne } from './app-process';
import { waitFor } from './socket-client';

/** Starts the node on a free loopback port with `env` and waits until it is ready; `children` collects it for clean-up. */
export async function startFaultNode(env: Record<string, string>, children: AppProcess[]): Promise<{ url: string; child: AppProcess }> {
  const port = await findFreePort();
  const child = spawnAllInOne({
    ...env,
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${join(__dirname, 'fault-points.js')}`.trim(),
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  await waitForPort(port, '127.0.0.1', 120_000, () => child.child.exitCode === null).catch((err) => {
    throw new Error(`node did not listen: ${(err as Error).message}\n${child.stdout()}${child.stderr()}`);
  });
  await waitFor(async () => (await request(url).get('/health/ready')).status === 200, 30_000, 'node ready');
  return { url, child };
}
