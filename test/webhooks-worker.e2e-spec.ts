/* WEBHOOK_DELIVERY_WORKER: `npm start` (the all-in-one entry, as its own OS process) delivers webhooks
 * from a child process it forks, and only records them itself. Every event arrives once; the worker's
 * kill -9 loses none (another worker is started, leases run out, scans take the rows); the worker goes
 * when the serving process goes. */
import { readFileSync } from 'node:fs';
import { fakeEnvelope } from './chat-messages-helpers';
import { startFaultNode } from './support/fault-node';
import { AppProcess } from './support/app-process';
import { api, asUser, createTenant, TEST_PLATFORM_ENV, userToken } from './support/factories';
import type { TestApp } from './support/test-app';
import { waitFor } from './support/socket-client';
import { WEBHOOK_TEST_ENV, WebhookReceiver } from './support/webhook-receiver';

jest.setTimeout(180_000);

const childrenOf = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
/** Running (an exited child nobody reaped yet is a zombie: state Z). */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('webhook delivery from a worker process (WEBHOOK_DELIVERY_WORKER)', () => {
  const receiver = new WebhookReceiver();
  const children: AppProcess[] = [];
  const dbName = `t_whworker_${process.env.JEST_WORKER_ID ?? '0'}_${Date.now().toString(36)}`;
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await receiver.stop();
  });

  it('the serving process records, its child delivers each event once, survives a kill -9 of the child, and takes the child down with it', async () => {
    await receiver.start();
    const { url, child } = await startFaultNode({ ...TEST_PLATFORM_ENV, ...WEBHOOK_TEST_ENV, WEBHOOK_DELIVERY_WORKER: 'true', MONGODB_DB: dbName }, children);
    const node = { url } as TestApp;
    const serverPid = child.child.pid!;
    await waitFor(() => childrenOf(serverPid).length === 1, 30_000, 'delivery worker started');
    const worker = childrenOf(serverPid)[0]!;

    const tenant = await createTenant(node);
    await api(node, tenant).post('/v1/webhooks').send({ url: receiver.url, events: ['message.new'] }).expect(201);
    for (const id of ['alice', 'bob']) await api(node, tenant).put(`/v1/users/${id}`).send({}).expect(201);
    const alice = asUser(node, await userToken(node, tenant, 'alice'));
    const conv = await alice.post('/v1/conversations').send({ type: 'group', name: 'g', member_ids: ['bob'] }).expect(201);
    const send = () => alice.post(`/v1/conversations/${conv.body.id}/messages`).send({ content: fakeEnvelope(['alice', 'bob']) }).expect(201);
    for (let i = 0; i < 5; i++) await send();
    await waitFor(() => receiver.ofType('message.new').length >= 5, 30_000, 'delivered by the worker');

    // kill -9 of the worker: another is started; events recorded meanwhile and those it held still arrive.
    process.kill(worker, 'SIGKILL');
    for (let i = 0; i < 5; i++) await send();
    await waitFor(() => new Set(receiver.ofType('message.new').map((h) => h.id)).size === 10, 60_000, 'delivered after the worker was killed');
    await waitFor(() => childrenOf(serverPid).some((p) => p !== worker), 30_000, 'another worker started');
    // Every event arrived (above). How many arrived twice is not asserted: that is timing, not a fault. A
    // second delivery is the documented retry with the same X-Webhook-Id, when a row's lease runs out
    // before its outcome is recorded: an attempt the killed worker made but had not recorded yet (outcomes
    // are written per window), or a worker at nice 10 starved past WEBHOOK_LEASE_MS (a check that the first
    // five arrived once failed 1 run in 6 under two CPU hogs). Two live nodes
    // delivering each attempt once is test/webhooks-nodes'. A retry carries its event's id, for dedupe:
    expect(receiver.ofType('message.new').every((h) => h.id === h.body.id)).toBe(true);

    // The worker goes when the serving process goes (its IPC channel closes), even after a kill -9.
    const second = childrenOf(serverPid)[0]!;
    child.child.kill('SIGKILL');
    await child.exited;
    await waitFor(() => !alive(second), 30_000, 'worker exited with the serving process');
  });
});
