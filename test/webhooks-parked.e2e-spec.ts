/* Rows waiting for a failing endpoint's open circuit are parked (issue 14): no due-rows scan reads them,
 * however many a long outage piles up (FerretDB decodes every row a scan reads). They are still sent:
 * drained by endpoint, each once, when the receiver answers again; and when the node that parked them
 * stops, another node takes the endpoint over (its record's lease ran out) and delivers them. Real
 * FerretDB, Redis and a loopback receiver; the apps' Clock is held by the test. */
import { WebhookDeliveriesRepository, WebhookDispatcher } from '@chat/webhooks';
import { waitFor } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';
import { TestClock, useTestClock } from './support/test-clock';
import { WEBHOOK_TEST_ENV, WebhookReceiver } from './support/webhook-receiver';
import { webhooksSuite, World } from './webhooks-helpers';

jest.setTimeout(240_000);

describe('webhooks: rows parked for an open circuit', () => {
  const { receiver, world, send, endpoint } = webhooksSuite();

  /** Fails `first` events until the endpoint's circuit is open on `app`, then sends `parked` more, which wait parked. */
  async function park(app: TestApp, clock: TestClock, r: WebhookReceiver, w: World, endpointId: string, first: number, parked: number): Promise<void> {
    const dispatcher = app.app.get(WebhookDispatcher);
    const repo = app.app.get(WebhookDeliveriesRepository);
    for (let i = 0; i < first; i++) await send(w);
    // Enough failures to open the circuit (the others wait for its probes).
    await waitFor(() => r.received.length >= 5, 20_000, 'first attempts');
    // Backoff steps until the circuit is open: attempts stop but for one probe per step.
    for (let i = 0; i < 8; i++) {
      clock.advance(1000);
      await dispatcher.runOnce();
    }
    for (let i = 0; i < parked; i++) await send(w);
    await waitFor(async () => (await repo.parkedIds(endpointId, 10_000)).length >= parked, 30_000, 'rows parked');
    // No scan reads them, full or not, whenever it runs.
    const scanned = new Set((await repo.dueIds(new Date(8.64e15), 10_000, [], false)).map((d) => d._id));
    for (const id of await repo.parkedIds(endpointId, 10_000)) expect(scanned.has(id)).toBe(false);
  }

  /** Steps the clock and scans on `app` until every event the receiver was sent for is delivered; returns the 2xx count per event. */
  async function deliverAll(app: TestApp, clock: TestClock, r: WebhookReceiver, delivered: string[], events: number): Promise<Map<string, number>> {
    const dispatcher = app.app.get(WebhookDispatcher);
    await waitFor(
      async () => {
        clock.advance(1000);
        await dispatcher.runOnce();
        return new Set(delivered).size >= events;
      },
      90_000,
      'every event delivered',
    );
    const perId = new Map<string, number>();
    for (const id of delivered) perId.set(id, (perId.get(id) ?? 0) + 1);
    return perId;
  }

  /** On `a`: a test clock, a receiver answering 500 until `answer()` (then 200, noting each event in `delivered`), a world and its endpoint. */
  async function failingEndpoint(a: TestApp) {
    const clock = useTestClock(a.app, new TestClock());
    const r = await receiver();
    const delivered: string[] = [];
    let failing = true;
    r.respond = (h) => (failing ? 500 : (delivered.push(h.id), 200));
    const w = await world(a);
    const ep = await endpoint(a, w.tenant, r.url, ['message.new']);
    return { clock, r, delivered, answer: () => void (failing = false), w, ep };
  }

  it('a drain of a few hundred parked rows delivers each once when the receiver answers again', async () => {
    const a = await createTestApp({ env: WEBHOOK_TEST_ENV });
    try {
      const { clock, r, delivered, answer, w, ep } = await failingEndpoint(a);
      await park(a, clock, r, w, ep.id, 10, 300);
      answer();
      const perId = await deliverAll(a, clock, r, delivered, 310);
      expect(perId.size).toBe(310);
      expect([...perId.values()].every((n) => n === 1)).toBe(true);
      const repo = a.app.get(WebhookDeliveriesRepository);
      await waitFor(async () => (await repo.parkedIds(ep.id, 10)).length === 0, 20_000, 'nothing parked left');
    } finally {
      await a.close();
    }
  });

  it('when the node that parked them stops, another node takes the endpoint over and delivers every parked row once', async () => {
    const a = await createTestApp({ env: WEBHOOK_TEST_ENV });
    let aOpen = true;
    let b: TestApp | undefined;
    try {
      const { clock, r, delivered, answer, w, ep } = await failingEndpoint(a);
      await park(a, clock, r, w, ep.id, 10, 200);
      await a.close();
      aOpen = false;
      b = await createTestApp({ dbName: a.dbName, env: WEBHOOK_TEST_ENV });
      useTestClock(b.app, clock);
      answer();
      const perId = await deliverAll(b, clock, r, delivered, 210);
      expect(perId.size).toBe(210);
      expect([...perId.values()].every((n) => n === 1)).toBe(true);
    } finally {
      await b?.close();
      if (aOpen) await a.close();
    }
  });
});
