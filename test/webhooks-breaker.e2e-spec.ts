/* A failing receiver must not cost an attempt (claim, attempt log, outcome write, POST) per waiting row
 * per retry (issue 14): after a few consecutive failures a node stops sending to the endpoint and lets
 * one probe through at backoff times; a 2xx probe sends everything waiting, each event once. Rows whose
 * retry window ends meanwhile still become dead letters. Real FerretDB, Redis and a loopback receiver;
 * the app's Clock is held by the test. */
import { WebhookDispatcher } from '@chat/webhooks';
import { asAdmin } from './support/factories';
import { waitFor } from './support/socket-client';
import { useTestClock } from './support/test-clock';
import { webhooksSuite } from './webhooks-helpers';

jest.setTimeout(180_000);

describe('webhooks: a failing endpoint gets probes, not an attempt per waiting row', () => {
  const { t, receiver, world, send, endpoint, deliveries } = webhooksSuite();

  it('500s cost a few attempts, not one per row and retry; a 2xx probe delivers every event once; rows past their window are dead letters', async () => {
    const dispatcher = t.app.get(WebhookDispatcher);
    const clock = useTestClock(t.app);
    const r = await receiver();
    const delivered: string[] = [];
    let failing = true;
    r.respond = (h) => (failing ? 500 : (delivered.push(h.id), 200));
    const w = await world();
    const ep = await endpoint(t, w.tenant, r.url, ['message.new']);
    /** The clock moves past a retry's backoff (100-400 ms in the test settings), then a scan runs with the attempts it starts. */
    const step = async (ms = 1000) => {
      clock.advance(ms);
      await dispatcher.runOnce();
    };

    // 20 events (group A), the receiver failing throughout. The clock stands still meanwhile: once the
    // circuit opens, every backoff step the clock passes admits a probe (100-400 ms here), so a clock moving
    // during the burst would let a varying number of them through before the steps below count.
    for (let i = 0; i < 20; i++) await send(w);
    await waitFor(async () => (await deliveries(w.tenant, ep.id)).length === 20, 20_000, 'the 20 rows recorded');
    await step();
    const afterBurst = r.received.length;
    // Several backoff steps: without a breaker every row is retried at each (20 rows x 10 steps).
    for (let i = 0; i < 10; i++) await step();
    // At most the failures that open it (plus the attempts already in flight then) and one probe per step.
    expect(r.received.length).toBeLessThanOrEqual(5 + 4 + 1 + 10);
    expect(r.received.length - afterBurst).toBeLessThanOrEqual(10);
    // The rows count the attempts made, nothing more (once the outcomes in flight are written).
    let rowsA = await deliveries(w.tenant, ep.id);
    await waitFor(async () => (rowsA = await deliveries(w.tenant, ep.id)).reduce((n, d) => n + d.attempts, 0) === r.received.length, 20_000, 'attempts recorded');
    expect(rowsA.every((d) => d.status === 'pending')).toBe(true);

    // 23 hours later (still open: a probe fails), group B is sent.
    clock.advance(23 * 3600_000);
    await step();
    const idsA = new Set(rowsA.map((d) => d.event_id as string));
    for (let i = 0; i < 5; i++) await send(w);
    await waitFor(async () => (await deliveries(w.tenant, ep.id)).length === 25, 20_000, 'the 5 rows of group B recorded');

    // Past group A's 24-hour window: a failed probe turns every row of A into a dead letter, without an attempt each.
    clock.advance(2 * 3600_000);
    const beforeExpiry = r.received.length;
    await step();
    await step();
    expect(r.received.length - beforeExpiry).toBeLessThanOrEqual(2);
    const admin = asAdmin(t, w.tenant.adminToken);
    await waitFor(
      async () => ((await admin.get(`/admin/webhooks/${ep.id}/deliveries?status=dead&limit=100`).expect(200)).body.data as unknown[]).length === 20,
      20_000,
      'group A dead',
    );
    const dead = (await admin.get(`/admin/webhooks/${ep.id}/deliveries?status=dead&limit=100`).expect(200)).body.data as Array<{ event_id: string }>;
    expect(new Set(dead.map((d) => d.event_id))).toEqual(idsA);

    // The receiver recovers: a probe succeeds and every event of B arrives, each exactly once.
    failing = false;
    await waitFor(
      async () => {
        await step();
        return (await deliveries(w.tenant, ep.id, 'delivered')).length === 5;
      },
      30_000,
      'group B delivered',
    );
    const perId = new Map<string, number>();
    for (const id of delivered) perId.set(id, (perId.get(id) ?? 0) + 1);
    const idsB = (await deliveries(w.tenant, ep.id, 'delivered')).map((d) => d.event_id as string);
    expect([...perId.keys()].sort()).toEqual([...idsB].sort());
    expect([...perId.values()].every((n) => n === 1)).toBe(true);
    expect(idsB.some((id) => idsA.has(id))).toBe(false);
  });
});
