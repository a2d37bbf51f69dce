/* A diagnostic for a run that seems to hang (CHAT_TEST_PENDING_TRACE=<dir>, see test/setup/after-env.ts):
 * the promises that the webhook classes, RedisLeases and the MongoDB driver return are tracked until
 * they settle, and every 15 s each jest process appends to <dir>/<pid>.log the calls pending for more
 * than 10 s (name and age), how many are pending, and the process's active resources, with the test
 * running then; test starts and ends are logged too. A hung step shows as an old pending call (a query
 * FerretDB never answered, a lease never acquired) or as none (a promise of the test's own). Only when
 * asked: it wraps prototype methods of this jest module registry. */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mongoose from 'mongoose';
import { RedisLeases } from '@chat/redis';
import { WebhookDeliveriesRepository, WebhookDispatcher, WebhookEndpointsRepository } from '@chat/webhooks';
import { ParkedEndpointsRepository } from '../../libs/webhooks/src/parked-endpoints.repository';
import { ParkedRowsRepository } from '../../libs/webhooks/src/parked-rows.repository';
import { WebhookSender } from '../../libs/webhooks/src/webhook-sender';

const OLD_MS = 10_000;
const EVERY_MS = 15_000;

const pending = new Map<number, { name: string; started: number }>();
let calls = 0;

/** Wraps the prototype's methods (all, or `only`): a call returning a thenable is pending until it settles. */
function track(proto: Record<string, unknown>, label: string, only?: string[]): void {
  for (const key of only ?? Object.getOwnPropertyNames(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, key);
    if (key === 'constructor' || !d || typeof d.value !== 'function' || (d.value as { tracked?: boolean }).tracked) continue;
    const orig = d.value as (...args: unknown[]) => unknown;
    const wrapped = function (this: unknown, ...args: unknown[]) {
      const r = orig.apply(this, args);
      if (r && typeof (r as PromiseLike<unknown>).then === 'function') {
        const id = ++calls;
        pending.set(id, { name: `${label}.${key}`, started: Date.now() });
        const settled = () => void pending.delete(id);
        (r as PromiseLike<unknown>).then(settled, settled);
      }
      return r;
    };
    Object.assign(wrapped, { tracked: true });
    proto[key] = wrapped;
  }
}

export function installPendingCalls(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${process.pid}.log`);
  const log = (msg: string) => {
    const s = expect.getState();
    appendFileSync(file, `${new Date().toISOString()} ${s.testPath?.split('/').pop() ?? ''} ${s.currentTestName ?? ''}: ${msg}\n`);
  };
  track(WebhookDispatcher.prototype as never, 'Dispatcher');
  track(WebhookDeliveriesRepository.prototype as never, 'Deliveries');
  track(WebhookEndpointsRepository.prototype as never, 'Endpoints');
  track(ParkedEndpointsRepository.prototype as never, 'ParkedRecords');
  track(ParkedRowsRepository.prototype as never, 'ParkedRows');
  track(WebhookSender.prototype as never, 'Sender');
  track(RedisLeases.prototype as never, 'RedisLeases');
  track(mongoose.Query.prototype as never, 'Query', ['exec']);
  track(mongoose.mongo.Collection.prototype as never, 'Collection');
  track(mongoose.mongo.FindCursor.prototype as never, 'FindCursor', ['toArray']);
  const timer = setInterval(() => {
    const now = Date.now();
    const old = [...pending.values()].filter((p) => now - p.started > OLD_MS).map((p) => `${p.name} ${Math.round((now - p.started) / 1000)}s`);
    const resources = new Map<string, number>();
    for (const r of process.getActiveResourcesInfo()) resources.set(r, (resources.get(r) ?? 0) + 1);
    log(`pending > ${OLD_MS / 1000}s: [${old.join(', ')}]; pending ${pending.size} of ${calls} calls; resources: ${[...resources].map(([k, n]) => `${k} x${n}`).join(', ')}`);
  }, EVERY_MS);
  timer.unref();
  beforeEach(() => log('test start'));
  afterEach(() => log('test end'));
  afterAll(() => {
    clearInterval(timer);
    log('file done');
  });
}
