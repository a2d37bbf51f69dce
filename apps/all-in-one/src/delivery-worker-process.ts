import { ChildProcess, fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { extname, join } from 'node:path';
import { INestApplication, Logger } from '@nestjs/common';
import { Clock } from '@chat/clock';
import { AppConfig } from '@chat/config';
import { RedisService } from '@chat/redis';
import { ForwardingTaker, WebhookDispatcher, WebhookOutbox, WORKER_READY, type WorkerChannel } from '@chat/webhooks';

/** Nice value of the worker: the kernel gives the serving process's sends the CPU first when both want it. */
const WORKER_NICE = 10;
/** A worker that exited is started again this much later. */
const RESTART_MS = 1000;

const WORKER_ENTRY = join(__dirname, `webhook-worker${extname(__filename)}`);
// Started from the TypeScript sources (tests, scripts/dev.js): the worker loads them the same way.
const fromSources = WORKER_ENTRY.endsWith('.ts') ? { CHAT_REGISTER_TS: '1' } : {};
// The parent's inspector port and profile file name are its own (the worker would clash on them).
const inherited = process.execArgv.filter((a) => !a.startsWith('--inspect') && !a.startsWith('--cpu-prof-name'));
const execArgv = WORKER_ENTRY.endsWith('.ts') ? [...inherited, '--require', join(__dirname, '..', '..', '..', 'scripts', 'register-ts.js')] : inherited;

/**
 * WEBHOOK_DELIVERY_WORKER: webhook delivery (signatures, POSTs, outcome writes) moves out of the
 * process that serves HTTP and sockets into a child process (webhook-worker.ts) at lower CPU priority.
 * This process still records events (outbox rows, inserted already leased to the worker) and hands
 * the stored rows to the worker over IPC. Needs Redis: the worker is a second node (document locks,
 * the shared endpoint version). Call in beforeListen, before the app's init.
 */
export function startDeliveryWorker(app: INestApplication): void {
  const config = app.get(AppConfig);
  if (!config.WEBHOOK_DELIVERY_WORKER || !config.WEBHOOK_DISPATCH_INTERVAL_MS) return;
  const logger = new Logger('WebhookDeliveryWorker');
  if (app.get(RedisService).mode !== 'redis') {
    logger.warn('WEBHOOK_DELIVERY_WORKER needs Redis (REDIS_URL): webhooks are delivered in this process');
    return;
  }
  let child: ChildProcess | null = null;
  let ready = false;
  let stopping = false;
  const spawn = () => {
    ready = false;
    const c = fork(WORKER_ENTRY, [], { env: { ...process.env, ...fromSources, WEBHOOK_DELIVERY_WORKER: 'false' }, execArgv, stdio: 'inherit' });
    child = c;
    try {
      if (c.pid) setPriority(c.pid, WORKER_NICE);
    } catch (err) {
      logger.warn(`could not lower the delivery worker's priority: ${(err as Error).message}`);
    }
    c.on('message', (m: { kind?: string }) => {
      if (m?.kind === WORKER_READY.kind && child === c) ready = true;
    });
    c.on('exit', (code, signal) => {
      if (child === c) [child, ready] = [null, false];
      if (stopping) return;
      // Rows handed to it keep their leases until they run out; the next worker's scans take them then.
      logger.warn(`webhook delivery worker exited (${signal ?? code}); starting another in ${RESTART_MS} ms`);
      setTimeout(() => stopping || spawn(), RESTART_MS).unref();
    });
  };
  const channel = (): WorkerChannel | null => (ready && child?.connected ? (child as unknown as WorkerChannel) : null);
  app.get(WebhookDispatcher).standDown();
  app.get(WebhookOutbox).attachTaker(new ForwardingTaker(channel, config, app.get(Clock)));
  // The worker goes when this process goes: its IPC channel closes and it stops after the attempts in flight.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (stopping = true));
  process.once('exit', () => {
    stopping = true;
    child?.disconnect();
  });
  spawn();
}
