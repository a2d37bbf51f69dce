/* The periodic sweep reads changes only where one may have gone unrecorded (docs/webhooks.md, "What a
 * sweep reads"): the window of a node that died (its heartbeat in webhook_recorders expired) and this
 * node's own failed recordings. With nothing lost it reads no message. The node here sweeps by hand
 * (OutboxSweeper.sweepLost, what its timer runs) with its Clock held by the test. */
import { FastPathWatermark, OutboxSweeper, SweptMessagesRepository, WebhookDeliveriesRepository } from '@chat/webhooks';
import { fakeEnvelope } from './chat-messages-helpers';
import { AppProcess } from './support/app-process';
import { startFaultNode } from './support/fault-node';
import { api, asUser, createTenant, TEST_PLATFORM_ENV, userToken } from './support/factories';
import { waitFor } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';
import { restoreClock, useTestClock } from './support/test-clock';
import { WEBHOOK_TEST_ENV, WebhookReceiver } from './support/webhook-receiver';

jest.setTimeout(180_000);

describe('the periodic webhook sweep reads only what may have been lost', () => {
  const children: AppProcess[] = [];
  const r = new WebhookReceiver();
  const dbName = `t_sweep_lost_${process.env.JEST_WORKER_ID ?? '0'}_${Date.now().toString(36)}`;
  let t: TestApp;

  beforeAll(async () => {
    await r.start();
    // A live node that sweeps only by hand (WEBHOOK_TEST_ENV: WEBHOOK_SWEEP_INTERVAL_MS=0).
    t = await createTestApp({ dbName, env: WEBHOOK_TEST_ENV });
  });

  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await t?.close();
    await r.stop();
  });

  it('a node killed between the store and the record: the next sweep after its heartbeat expired records the event, once', async () => {
    const { url, child } = await startFaultNode({ ...TEST_PLATFORM_ENV, ...WEBHOOK_TEST_ENV, WEBHOOK_DISPATCH_INTERVAL_MS: '0', MONGODB_DB: dbName }, children);
    const n1 = { url } as TestApp;
    const tenant = await createTenant(n1);
    await api(n1, tenant).post('/v1/webhooks').send({ url: r.url, events: ['message.new'] }).expect(201);
    for (const id of ['alice', 'bob']) await api(n1, tenant).put(`/v1/users/${id}`).send({}).expect(201);
    const alice = asUser(n1, await userToken(n1, tenant, 'alice'));
    const conv = (await alice.post('/v1/conversations').send({ type: 'group', name: 'g', member_ids: ['bob'] }).expect(201)).body.id as string;
    // Stored, then the node dies before its event was recorded (fault point).
    await expect(alice.post(`/v1/conversations/${conv}/messages`).send({ content: fakeEnvelope(['alice', 'bob']), client_msg_id: 'fault:kill-after-store:1' })).rejects.toThrow();
    expect(await child.exited).toBeNull();

    const sweeper = t.app.get(OutboxSweeper);
    const reads = jest.spyOn(t.app.get(SweptMessagesRepository), 'storedBetween');
    const clock = useTestClock(t.app);
    try {
      // The dead node's heartbeat has not expired yet: nothing is known lost, no message is read.
      expect(await sweeper.sweepLost()).toBe(0);
      expect(reads).not.toHaveBeenCalled();

      clock.advance(60_000); // past three of its heartbeats (10 s each)
      expect(await sweeper.sweepLost()).toBe(1);
      expect(reads).toHaveBeenCalled();
      await waitFor(() => r.ofType('message.new').length === 1, 30_000, 'delivered after the sweep');
      expect((r.ofType('message.new')[0]!.body.data as { conversation_id: string; seq: number }).conversation_id).toBe(conv);

      // Its window was swept and its entry dropped: the next sweep reads nothing again.
      reads.mockClear();
      expect(await sweeper.sweepLost()).toBe(0);
      expect(reads).not.toHaveBeenCalled();
      // A full pass (what a starting node runs) finds nothing missing either.
      expect(await sweeper.sweep()).toBe(0);
    } finally {
      restoreClock(t.app);
      reads.mockRestore();
    }
  });

  it("a recording that failed on a live node is covered by that node's next sweep", async () => {
    const tenant = await createTenant(t);
    const hook = new WebhookReceiver();
    await hook.start();
    try {
      await api(t, tenant).post('/v1/webhooks').send({ url: hook.url, events: ['message.new'] }).expect(201);
      for (const id of ['alice', 'bob']) await api(t, tenant).put(`/v1/users/${id}`).send({}).expect(201);
      const alice = asUser(t, await userToken(t, tenant, 'alice'));
      const conv = (await alice.post('/v1/conversations').send({ type: 'group', name: 'g', member_ids: ['bob'] }).expect(201)).body.id as string;
      const watermark = t.app.get(FastPathWatermark);
      const sweeper = t.app.get(OutboxSweeper);
      expect(await sweeper.sweepLost()).toBe(0);

      // The outbox insert of the next message fails (the database refused it): the send is still answered.
      const insert = jest.spyOn(t.app.get(WebhookDeliveriesRepository), 'insertNew').mockRejectedValueOnce(new Error('insert refused'));
      const sent = await alice.post(`/v1/conversations/${conv}/messages`).send({ content: fakeEnvelope(['alice', 'bob']) }).expect(201);
      await waitFor(() => watermark.oldestFailure() !== undefined, 10_000, 'the failed recording');
      insert.mockRestore();

      expect(await sweeper.sweepLost()).toBe(1);
      await waitFor(() => hook.ofType('message.new').length === 1, 30_000, 'delivered after the sweep');
      expect((hook.ofType('message.new')[0]!.body.data as { message_id: string }).message_id).toBe(sent.body.id);
      expect(watermark.oldestFailure()).toBeUndefined();
      expect(await sweeper.sweepLost()).toBe(0);
    } finally {
      await hook.stop();
    }
  });
});
