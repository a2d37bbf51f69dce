/* An all-in-one node in its own process with the fault points loaded (fault-points.js), so a test can
 * kill it (SIGKILL) at a chosen point of a write, then check what survives after a restart; and the
 * set-up the kill -9 webhook specs (test/webhooks-crash*.e2e-spec.ts) share around such nodes. */
import { join } from 'node:path';
import request from 'supertest';
import { findFreePort, waitForPort } from '@chat/dev-services';
import { AppProcess, spawnAllInOne } from './app-process';
import { TEST_PLATFORM_ENV } from './factories';
import { waitFor } from './socket-client';
import { createTestApp, TestApp } from './test-app';
import { WEBHOOK_TEST_ENV, WebhookReceiver } from './webhook-receiver';

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

export interface WebhookCrashSuite {
  /** The suite's own database: every node and the restarted app use it. */
  dbName: string;
  /** The loopback receiver the suite's webhooks point at (started by the test, stopped after the suite). */
  receiver: WebhookReceiver;
  /**
   * A fault node on the suite's database that records webhook events but never delivers nor sweeps
   * them (dispatcher off; WEBHOOK_TEST_ENV has the sweeper off): whatever it committed must come out
   * of the database after it dies. `env` overrides (e.g. a dispatch interval: a node that delivers).
   * Killed after the suite if it is still running.
   */
  node(env?: Record<string, string>): Promise<{ t: TestApp; url: string; child: AppProcess }>;
  /** An app in this process on the suite's database (started after the crashes, or beside a node the test kills), with WEBHOOK_TEST_ENV and `env` (closed after the suite). */
  restart(env?: Record<string, string>): Promise<TestApp>;
}

/** Registers the suite's clean-up; `name` tells the suite's database apart. */
export function webhookCrashSuite(name: string): WebhookCrashSuite {
  const children: AppProcess[] = [];
  let restarted: TestApp | undefined;
  const dbName = `t_crash_${name}_${process.env.JEST_WORKER_ID ?? '0'}_${Date.now().toString(36)}`;
  const receiver = new WebhookReceiver();
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await restarted?.close();
    await receiver.stop();
  });
  return {
    dbName,
    receiver,
    async node(env = {}) {
      const { url, child } = await startFaultNode({ ...TEST_PLATFORM_ENV, ...WEBHOOK_TEST_ENV, WEBHOOK_DISPATCH_INTERVAL_MS: '0', ...env, MONGODB_DB: dbName }, children);
      return { t: { url } as TestApp, url, child };
    },
    async restart(env = {}) {
      restarted = await createTestApp({ dbName, env: { ...WEBHOOK_TEST_ENV, ...env } });
      return restarted;
    },
  };
}
