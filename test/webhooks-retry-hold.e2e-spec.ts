/* A failed attempt that will be retried keeps its row leased by the node that made it until the retry is
 * due (issue 14): the frequent due-rows scans for free rows (`leased: false`, pushed down on FerretDB)
 * then never read the rows waiting for a retry, which grow with the message rate into a failing or dead
 * receiver. The node retries its own rows at their time; a node that stops leaves them to run out, and
 * another node's full scan delivers them (same X-Webhook-Id). Real FerretDB, Redis and a loopback
 * receiver; the apps' Clock is held by the test. */
import { WebhookDeliveriesRepository, WebhookDeliveryDoc } from '@chat/webhooks';
import { waitFor } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';
import { TestClock, useTestClock } from './support/test-clock';
import { WEBHOOK_TEST_ENV } from './support/webhook-receiver';
import { webhooksSuite } from './webhooks-helpers';

jest.setTimeout(120_000);

describe('webhook retries: rows waiting for a retry stay leased by the node that failed them', () => {
  const { receiver, world, send, endpoint } = webhooksSuite();

  /** The pending row of the one message.new event the receiver got for `eventId`, once its failed attempt's outcome is written. */
  async function failedRow(app: TestApp, endpointId: string, eventId: string): Promise<WebhookDeliveryDoc> {
    const repo = app.app.get(WebhookDeliveriesRepository);
    let row: WebhookDeliveryDoc | null = null;
    await waitFor(async () => {
      const pending = await repo.dueIds(new Date(8.64e15), 1000, [], false);
      for (const c of pending) {
        const d = await repo.find(endpointId, c._id);
        if (d?.event_id === eventId && d.attempts === 1) row = d;
      }
      return row !== null;
    }, 20_000, 'the failed attempt recorded');
    return row!;
  }

  it('a free scan leaves them out; the node retries them itself at their time; a stopped node’s rows are delivered by another node after their lease', async () => {
    const a = await createTestApp({ env: WEBHOOK_TEST_ENV });
    let aOpen = true;
    let b: TestApp | undefined;
    try {
      const clock = useTestClock(a.app, new TestClock());
      const r = await receiver();
      r.respond = () => 500;
      const w = await world(a);
      const ep = await endpoint(a, w.tenant, r.url, ['message.new']);

      await send(w);
      await waitFor(() => r.ofType('message.new').length === 1, 20_000, 'first attempt');
      const first = r.ofType('message.new')[0]!;
      const row = await failedRow(a, ep.id, first.id);
      const due = new Date(row.next_attempt_at).getTime();
      const repo = a.app.get(WebhookDeliveriesRepository);
      // Once due, a free scan (the frequent one) does not read it: a lease still holds it until then.
      expect((await repo.dueIds(new Date(due), 1000, [], true)).map((d) => d._id)).not.toContain(row._id);
      expect(row.leased).toBe(true);
      expect(new Date(row.lease_until).getTime()).toBe(due);

      // The node that failed it retries it at its time.
      r.respond = () => 200;
      clock.set(due);
      await waitFor(() => r.ofType('message.new').length === 2, 20_000, 'retried by the node that failed it');
      expect(r.ofType('message.new')[1]!.id).toBe(first.id);
      await waitFor(async () => (await repo.find(ep.id, row._id))?.status === 'delivered', 20_000, 'delivered');

      // A second event fails on `a`, then `a` stops holding its row: another node delivers it after its lease.
      r.respond = () => 500;
      await send(w);
      await waitFor(() => r.ofType('message.new').length === 3, 20_000, 'second event, first attempt');
      const second = r.ofType('message.new')[2]!;
      const row2 = await failedRow(a, ep.id, second.id);
      expect(row2.leased).toBe(true);
      await a.close();
      aOpen = false;
      b = await createTestApp({ dbName: a.dbName, env: WEBHOOK_TEST_ENV });
      useTestClock(b.app, clock);
      r.respond = () => 200;
      // Past the lease (= next_attempt_at) and past WEBHOOK_LEASE_MS / 2 (5 s here): b's next scan is a full one.
      clock.set(new Date(row2.lease_until).getTime() + 5001);
      await waitFor(() => r.ofType('message.new').length === 4, 30_000, 'retried by another node once the lease ran out');
      expect(r.ofType('message.new')[3]!.id).toBe(second.id);
      const repoB = b.app.get(WebhookDeliveriesRepository);
      await waitFor(async () => (await repoB.find(ep.id, row2._id))?.status === 'delivered', 20_000, 'delivered by the other node');
    } finally {
      await b?.close();
      if (aOpen) await a.close();
    }
  });
});
