import { OutboxSweeper, WebhookDispatcher, WebhookEndpointsService, WebhookOutbox } from '@chat/webhooks';
import { api, asAdmin, createTenant } from './support/factories';
import { waitFor } from './support/socket-client';
import { restoreClock, useTestClock } from './support/test-clock';
import { webhooksSuite, World } from './webhooks-helpers';

/**
 * Getting webhooks delivered: a receiver down or failing (retries under one X-Webhook-Id, 410, dead
 * letters and replay), and delivery never holding up the send path or another endpoint.
 */
describe('webhooks against a real receiver on loopback (FerretDB, Redis): delivery and retries', () => {
  const { t, receiver, world, send, endpoint, deliveries } = webhooksSuite();

  it('receiver down for a while, then up: every event arrives, each once', async () => {
    const r = await receiver();
    const w = await world();
    const ep = await endpoint(t, w.tenant, r.url, ['message.new']);
    await r.stop();
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push((await send(w)).body.id);
    // Every event has been tried and refused at least once while the receiver was down.
    await waitFor(async () => (await deliveries(w.tenant, ep.id)).filter((d) => d.attempts >= 1 && d.status === 'pending').length === 5, 15_000, 'failed attempts');
    await r.start();
    await waitFor(() => new Set(r.ofType('message.new').map((h) => h.body.data.message_id)).size === 5, 15_000, 'all delivered');
    await waitFor(async () => (await deliveries(w.tenant, ep.id)).every((d) => d.status === 'delivered'), 5000, 'recorded as delivered');
    // Each event exactly once: a 2xx ends its retries.
    expect(r.ofType('message.new').map((h) => h.body.data.message_id).sort()).toEqual([...sent].sort());
    const rows = await deliveries(w.tenant, ep.id);
    const detail = await api(t, w.tenant).get(`/v1/webhooks/${ep.id}/deliveries/${rows[0]!.id}`).expect(200);
    expect(detail.body.attempt_log.length).toBeGreaterThanOrEqual(2);
    expect(detail.body.attempt_log[0]).toMatchObject({ status_code: null, error: expect.any(String) });
    expect(detail.body.attempt_log.at(-1)).toMatchObject({ status_code: 200 });
  });

  it('receiver answering 500 then 200: retried with backoff under the same X-Webhook-Id, then delivered', async () => {
    const r = await receiver();
    r.respond = (_req, nth) => (nth <= 2 ? 500 : 200);
    const w = await world();
    const ep = await endpoint(t, w.tenant, r.url, ['message.new']);
    await send(w);
    await waitFor(() => r.received.length === 3, 15_000, 'three attempts');
    expect(new Set(r.received.map((h) => h.id)).size).toBe(1);
    const [row] = await deliveries(w.tenant, ep.id);
    await waitFor(async () => (await deliveries(w.tenant, ep.id))[0]!.status === 'delivered', 5000, 'recorded as delivered');
    const detail = await api(t, w.tenant).get(`/v1/webhooks/${ep.id}/deliveries/${row!.id}`).expect(200);
    expect(detail.body.attempt_log.map((a: { status_code: number }) => a.status_code)).toEqual([500, 500, 200]);
  });

  it('410 turns the endpoint off; an admin turns it back on', async () => {
    const r = await receiver();
    r.respond = () => 410;
    const w = await world();
    const ep = await endpoint(t, w.tenant, r.url, ['message.new']);
    await send(w);
    await waitFor(async () => (await api(t, w.tenant).get(`/v1/webhooks/${ep.id}`)).body.active === false, 10_000, 'endpoint disabled');
    const shown = await api(t, w.tenant).get(`/v1/webhooks/${ep.id}`).expect(200);
    expect(shown.body.disabled_reason).toMatch(/410/);
    expect(r.received).toHaveLength(1);
    await asAdmin(t, w.tenant.adminToken).patch(`/admin/webhooks/${ep.id}`).send({ active: true }).expect(200);
    expect((await api(t, w.tenant).get(`/v1/webhooks/${ep.id}`)).body).toMatchObject({ active: true, disabled_reason: null });
  });

  it('after the retry window an event is a dead letter; replay (one, or all since a time) sends it again', async () => {
    const dispatcher = t.app.get(WebhookDispatcher);
    const sweeper = t.app.get(OutboxSweeper);
    const r = await receiver();
    r.respond = () => 503;
    const w = await world();
    const ep = await endpoint(t, w.tenant, r.url, ['message.new']);
    // The app's one Clock, held and moved by the test (dispatcher, outbox and sweeper all read it).
    const clock = useTestClock(t.app);
    try {
      await send(w);
      await waitFor(() => r.received.length >= 1, 10_000, 'first attempt');
      // 25 hours later (the window is 24): the next attempt is the last, then the row is dead.
      for (let i = 0; i < 40 && (await deliveries(w.tenant, ep.id, 'dead')).length === 0; i++) {
        clock.advance(3600_000);
        await dispatcher.runOnce();
      }
      const dead = await deliveries(w.tenant, ep.id, 'dead');
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ type: 'message.new', last_status_code: 503 });
      expect(new Date(dead[0]!.retry_until).getTime() - new Date(dead[0]!.created_at).getTime()).toBe(24 * 3600_000);

      r.respond = () => 200;
      const before = r.received.length;
      await api(t, w.tenant).post(`/v1/webhooks/${ep.id}/deliveries/${dead[0]!.id}/replay`).expect(202);
      await dispatcher.runOnce();
      await waitFor(() => r.received.length === before + 1, 10_000, 'replayed');
      expect(r.received.at(-1)!.id).toBe(dead[0]!.event_id);
      expect((await deliveries(w.tenant, ep.id, 'delivered')).map((d) => d.id)).toEqual([dead[0]!.id]);

      const all = await asAdmin(t, w.tenant.adminToken).post(`/admin/webhooks/${ep.id}/replay`).send({ since: new Date(0).toISOString() }).expect(202);
      expect(all.body).toEqual({ requeued: 1 });
      await dispatcher.runOnce();
      await waitFor(() => r.received.length === before + 2, 10_000, 'replayed since');
      await waitFor(async () => (await deliveries(w.tenant, ep.id, 'delivered')).length === 1, 5000, 'recorded');

      // WEBHOOK_HISTORY_DAYS (30) later the finished rows are gone.
      clock.advance(31 * 86400_000);
      await sweeper.sweep();
      expect(await deliveries(w.tenant, ep.id)).toEqual([]);
    } finally {
      restoreClock(t.app);
    }
  });

  it('delivery never slows the send path: sends are answered while the receiver holds every webhook', async () => {
    const r = await receiver();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    r.respond = async () => {
      await held;
      return 200;
    };
    const quiet = await world();
    const hooked = await world();
    await endpoint(t, hooked.tenant, r.url, ['*']);
    const timed = async (w: World) => {
      const start = performance.now();
      await send(w);
      return performance.now() - start;
    };
    await timed(quiet); // warm-up
    // Interleaved, so drift in machine load hits both series alike.
    const without: number[] = [];
    const withHooks: number[] = [];
    for (let i = 0; i < 30; i++) {
      without.push(await timed(quiet));
      withHooks.push(await timed(hooked));
    }
    without.sort((a, b) => a - b);
    withHooks.sort((a, b) => a - b);
    // Every send was answered although no webhook has been answered yet.
    await waitFor(() => r.received.length >= 1, 10_000, 'webhooks in flight');
    const p = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * q))]!.toFixed(1);
    console.log(`send latency ms without endpoint p50=${p(without, 0.5)} p95=${p(without, 0.95)}; with endpoint (receiver holding) p50=${p(withHooks, 0.5)} p95=${p(withHooks, 0.95)}`);
    release();
    await waitFor(() => new Set(r.ofType('message.new').map((h) => h.id)).size === 30, 20_000, 'all delivered once released');
  });

  it("one endpoint's backlog (held by a slow receiver) does not hold up another endpoint's events", async () => {
    const slow = await receiver();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    slow.respond = async () => {
      await held;
      return 200;
    };
    const fast = await receiver();
    const a = await createTenant(t);
    const epA = await endpoint(t, a, slow.url, ['message.new']);
    try {
      // A backlog larger than one dispatcher scan (100 rows), all due now.
      const outbox = t.app.get(WebhookOutbox);
      const doc = await t.app.get(WebhookEndpointsService).get(epA.id);
      const now = new Date();
      await outbox.insert(
        Array.from({ length: 150 }, (_, i) => outbox.row(doc, `evt_backlog_${epA.id}_${i}`, 'message.new', { id: `evt_backlog_${i}`, type: 'message.new', data: {} }, now)),
      );
      await waitFor(() => slow.received.length >= 1, 10_000, 'slow receiver busy');
      const w = await world();
      await endpoint(t, w.tenant, fast.url, ['message.new']);
      await send(w);
      await waitFor(() => fast.ofType('message.new').length === 1, 10_000, 'the other endpoint still gets its event');
    } finally {
      release();
      await api(t, a).delete(`/v1/webhooks/${epA.id}`).expect(200);
    }
  });
});
