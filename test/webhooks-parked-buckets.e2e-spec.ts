/* Parked rows go into buckets (issue 14): the expiry after a failed probe reads only the slots of retry
 * windows that began, and the drain reads one bucket per batch; rows parked in several buckets are
 * dead-lettered exactly when their window passed, and every other one is delivered once when the
 * receiver answers again. Real FerretDB, Redis and a loopback receiver; the app's Clock is held by the test. */
import { PARKED_SLOT_MS, ParkedEndpointsRepository, WebhookDeliveriesRepository, WebhookDispatcher } from '@chat/webhooks';
import { waitFor } from './support/socket-client';
import { createTestApp } from './support/test-app';
import { TestClock, useTestClock } from './support/test-clock';
import { WEBHOOK_TEST_ENV } from './support/webhook-receiver';
import { webhooksSuite } from './webhooks-helpers';

jest.setTimeout(240_000);

const WINDOW_S = 600;

describe('webhooks: parked rows in buckets', () => {
  const { receiver, world, send, endpoint } = webhooksSuite();

  it('a failed probe dead-letters exactly the parked rows whose window passed; the drain then delivers every other one once', async () => {
    const a = await createTestApp({ env: { ...WEBHOOK_TEST_ENV, WEBHOOK_RETRY_WINDOW_SECONDS: String(WINDOW_S) } });
    try {
      const clock = useTestClock(a.app, new TestClock());
      const dispatcher = a.app.get(WebhookDispatcher);
      const repo = a.app.get(WebhookDeliveriesRepository);
      const records = a.app.get(ParkedEndpointsRepository);
      const r = await receiver();
      const delivered: string[] = [];
      let failing = true;
      r.respond = (h) => (failing ? 500 : (delivered.push(h.id), 200));
      const w = await world(a);
      const ep = await endpoint(a, w.tenant, r.url, ['message.new']);
      const pending = async () => repo.list(ep.id, { status: 'pending', limit: 1000 });
      const parkedCount = async () => (await pending()).filter((d) => d.parked).length;

      // Failures until the endpoint's circuit is open (the first rows wait for its probes, held here).
      for (let i = 0; i < 10; i++) await send(w);
      await waitFor(() => r.received.length >= 5, 20_000, 'first attempts');
      for (let i = 0; i < 8; i++) {
        clock.advance(1000);
        await dispatcher.runOnce();
      }
      // Three groups of rows, two slots of retry windows apart: each group parked into buckets of its own slot.
      for (let g = 0; g < 3; g++) {
        if (g) {
          clock.advance(2 * PARKED_SLOT_MS);
          // The probe due now fails (the circuit is open again, its next probe later), and the node's record of the endpoint is renewed for the moved clock before rows are parked under it again.
          const probes = r.received.length;
          await waitFor(async () => (await dispatcher.runOnce(), r.received.length > probes), 20_000, 'a probe');
          await waitFor(async () => (await records.all()).some((rec) => rec.endpoint_id === ep.id && new Date(rec.lease_until).getTime() > clock.now() + 2000), 20_000, 'record renewed');
        }
        const before = await parkedCount();
        for (let i = 0; i < 20; i++) await send(w);
        await waitFor(async () => (await parkedCount()) >= before + 20, 30_000, `group ${g} parked`);
      }
      const rows = await pending();
      expect(rows).toHaveLength(70);
      const slots = new Set(rows.filter((d) => d.parked).map((d) => d.parked_slot));
      expect(slots.size).toBeGreaterThanOrEqual(3);
      expect(new Set(rows.filter((d) => d.parked).map((d) => d.parked_bucket)).size).toBeGreaterThanOrEqual(3);

      // The clock passes the first group's windows (and the first rows'), not the others'.
      const windows = rows.map((d) => new Date(d.retry_until).getTime()).sort((x, y) => x - y);
      const at = windows[29]! + 1000;
      expect(windows[30]!).toBeGreaterThan(at + 60_000);
      clock.advance(at - clock.now());
      const due = new Set(rows.filter((d) => new Date(d.retry_until).getTime() <= at).map((d) => d.event_id));
      expect(due.size).toBe(30);
      // A probe (due at once: the clock moved past its backoff) fails; the expiry after it moves the rows past their window.
      const dead = async () => new Set((await repo.list(ep.id, { status: 'dead', limit: 1000 })).map((d) => d.event_id));
      await waitFor(
        async () => {
          await dispatcher.runOnce();
          return (await dead()).size >= due.size;
        },
        30_000,
        'rows past their window dead',
      );
      expect([...(await dead())].sort()).toEqual([...due].sort());
      expect((await pending()).every((d) => new Date(d.retry_until).getTime() > at)).toBe(true);

      // The receiver answers again: every row left is delivered once, none of the dead ones.
      failing = false;
      const expected = new Set(rows.map((d) => d.event_id).filter((id) => !due.has(id)));
      await waitFor(
        async () => {
          clock.advance(1000);
          await dispatcher.runOnce();
          return new Set(delivered).size >= expected.size;
        },
        90_000,
        'every row left delivered',
      );
      const perId = new Map<string, number>();
      for (const id of delivered) perId.set(id, (perId.get(id) ?? 0) + 1);
      expect([...perId.keys()].sort()).toEqual([...expected].sort());
      expect([...perId.values()].every((n) => n === 1)).toBe(true);
      await waitFor(async () => (await pending()).length === 0, 20_000, 'nothing pending left');
    } finally {
      await a.close();
    }
  });
});
