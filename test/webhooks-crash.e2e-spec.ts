/* kill -9 of a node between the commit of a message and the delivery of its webhook: the node is the
 * all-in-one entry as its own OS process (it records but never delivers), killed right after the send
 * is answered. A node started afterwards on the same database delivers the event. */
import request from 'supertest';
import { findFreePort, waitForPort } from '@chat/dev-services';
import { fakeEnvelope } from './chat-messages-helpers';
import { AppProcess, spawnAllInOne } from './support/app-process';
import { api, asUser, createTenant, TEST_PLATFORM_ENV, userToken } from './support/factories';
import { waitFor } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';
import { WEBHOOK_TEST_ENV, WebhookReceiver } from './support/webhook-receiver';

jest.setTimeout(180_000);

describe('webhooks survive kill -9 between commit and delivery', () => {
  let child: AppProcess | undefined;
  let restarted: TestApp | undefined;
  const r = new WebhookReceiver();

  afterAll(async () => {
    if (child && child.child.exitCode === null) child.child.kill('SIGKILL');
    await restarted?.close();
    await r.stop();
  });

  it('the event is delivered after a restart', async () => {
    await r.start();
    const dbName = `t_crash_${process.env.JEST_WORKER_ID ?? '0'}_${Date.now().toString(36)}`;
    const port = await findFreePort();
    // This node records events but never delivers (dispatcher and sweeper off): whatever it committed
    // must come out of the database after it dies.
    child = spawnAllInOne({
      ...TEST_PLATFORM_ENV,
      ...WEBHOOK_TEST_ENV,
      WEBHOOK_DISPATCH_INTERVAL_MS: '0',
      MONGODB_DB: dbName,
      PORT: String(port),
      HOST: '127.0.0.1',
    });
    const url = `http://127.0.0.1:${port}`;
    await waitForPort(port, '127.0.0.1', 120_000, () => child!.child.exitCode === null).catch((err) => {
      throw new Error(`node did not listen: ${(err as Error).message}\n${child!.stdout()}${child!.stderr()}`);
    });
    await waitFor(async () => (await request(url).get('/health/ready')).status === 200, 30_000, 'node ready');
    const node = { url } as TestApp;
    const tenant = await createTenant(node);
    await api(node, tenant).post('/v1/webhooks').send({ url: r.url, events: ['message.new'] }).expect(201);
    for (const id of ['alice', 'bob']) await api(node, tenant).put(`/v1/users/${id}`).send({}).expect(201);
    const alice = asUser(node, await userToken(node, tenant, 'alice'));
    const conv = await alice.post('/v1/conversations').send({ type: 'group', name: 'g', member_ids: ['bob'] }).expect(201);
    const sent = await alice.post(`/v1/conversations/${conv.body.id}/messages`).send({ content: fakeEnvelope(['alice', 'bob']) }).expect(201);
    child.child.kill('SIGKILL');
    expect(await child.exited).toBeNull();
    expect(r.received).toEqual([]);

    restarted = await createTestApp({ dbName, env: { ...WEBHOOK_TEST_ENV, WEBHOOK_SWEEP_INTERVAL_MS: '200' } });
    await waitFor(() => r.ofType('message.new').length === 1, 30_000, 'delivered after restart');
    expect(r.ofType('message.new')[0]!.body.data).toMatchObject({ message_id: sent.body.id, conversation_id: conv.body.id, seq: 1 });
  });
});
