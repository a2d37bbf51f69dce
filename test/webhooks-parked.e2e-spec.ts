/* Rows waiting for a failing endpoint's open circuit are parked (issue 14): no due-rows scan reads them,
 * however many a long outage piles up (FerretDB decodes every row a scan reads). They are still sent:
 * drained by endpoint, each once, when the receiver answers again; and when the node that parked them
 * stops, another node takes the endpoint over (its record's lease ran out) and delivers them. Real
 * FerretDB, Redis and a loopback receiver; the apps' Clock is held by the test. */
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { PARKED_SLOT_MS, ParkedEndpointsRepository, ParkedRowsRepository, WebhookDeliveriesRepository, WebhookDispatcher } from '@chat/webhooks';
import { asUser, userToken } from './support/factories';
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
    for (let i = 0; i < first; i++) await send(w);
    // Enough failures to open the circuit (the others wait for its probes).
    await waitFor(() => r.received.length >= 5, 20_000, 'first attempts');
    // Backoff steps until the circuit is open: attempts stop but for one probe per step.
    for (let i = 0; i < 8; i++) {
      clock.advance(1000);
      await dispatcher.runOnce();
    }
    for (let i = 0; i < parked; i++) await send(w);
    await settle(app, clock, endpointId, first + parked, 'rows parked');
    await expectNoneScanned(app, endpointId);
  }

  /**
   * Waits until the endpoint's `n` rows are stored and each never attempted is parked. A row recorded
   * while the circuit's opening or the record's renewal was still being written is not parked: it waits
   * held on this node for a probe (one per backoff step), so while every row is stored and such a row
   * waits, the clock moves one step and a scan runs. (Waiting with the clock still, as before, waited for
   * ever whenever more rows came in those moments than the steps the test had given: seen under load.)
   */
  async function settle(app: TestApp, clock: TestClock, endpointId: string, n: number, what: string): Promise<void> {
    const dispatcher = app.app.get(WebhookDispatcher);
    const repo = app.app.get(WebhookDeliveriesRepository);
    let seen = '';
    try {
      await waitFor(
        async () => {
          const rows = await repo.list(endpointId, { status: 'pending', limit: 1000 });
          const waiting = rows.filter((d) => d.attempts === 0 && !d.parked).length;
          seen = `${rows.length} of ${n} rows stored, ${waiting} never attempted and not parked`;
          if (rows.length !== n || waiting === 0) return rows.length === n;
          clock.advance(1000);
          await dispatcher.runOnce();
          return false;
        },
        60_000,
        what,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message} (last seen: ${seen})`);
    }
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

  /** The receiver answers again (`answer`): every one of the `events` events is then delivered on `app`, each once. */
  async function deliveredOnceEach(app: TestApp, clock: TestClock, r: WebhookReceiver, delivered: string[], answer: () => void, events: number): Promise<void> {
    answer();
    const perId = await deliverAll(app, clock, r, delivered, events);
    expect(perId.size).toBe(events);
    expect([...perId.values()].every((n) => n === 1)).toBe(true);
  }

  /** No scan reads the endpoint's parked rows, full or not, whenever it runs. */
  async function expectNoneScanned(app: TestApp, endpointId: string): Promise<void> {
    const scanned = new Set((await app.app.get(WebhookDeliveriesRepository).dueIds(new Date(8.64e15), 10_000, [], false)).map((d) => d._id));
    for (const id of await app.app.get(ParkedRowsRepository).parkedIds(endpointId, 10_000)) expect(scanned.has(id)).toBe(false);
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
      await deliveredOnceEach(a, clock, r, delivered, answer, 310);
      const repo = a.app.get(ParkedRowsRepository);
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
      await deliveredOnceEach(b, clock, r, delivered, answer, 210);
    } finally {
      await b?.close();
      if (aOpen) await a.close();
    }
  });

  it('rows a node that does not deliver records while the circuit is open are parked by the delivering node and delivered once each', async () => {
    const a = await createTestApp({ env: WEBHOOK_TEST_ENV });
    let b: TestApp | undefined;
    try {
      const { clock, r, delivered, answer, w, ep } = await failingEndpoint(a);
      await park(a, clock, r, w, ep.id, 10, 0);
      // b records and does not deliver (the API nodes of a deployment with a dispatcher elsewhere): it has no
      // circuit, so its rows are stored free, as a dead node's whose lease ran out would be.
      b = await createTestApp({ dbName: a.dbName, env: { ...WEBHOOK_TEST_ENV, WEBHOOK_DISPATCH_INTERVAL_MS: '0' } });
      useTestClock(b.app, clock);
      const onB = { ...w, alice: asUser(b, await userToken(b, w.tenant, 'alice')) };
      for (let i = 0; i < 30; i++) await send(onB);
      // With the clock still (no probe step), a's scans park them: no row is left that was never attempted and is not parked.
      const dispatcher = a.app.get(WebhookDispatcher);
      const repo = a.app.get(WebhookDeliveriesRepository);
      let seen = '';
      const parkedAll = async () => {
        await dispatcher.runOnce();
        const rows = await repo.list(ep.id, { status: 'pending', limit: 1000 });
        const waiting = rows.filter((d) => d.attempts === 0 && !d.parked).length;
        seen = `${rows.length} of 40 rows stored, ${waiting} never attempted and not parked`;
        return rows.length === 40 && waiting === 0;
      };
      await waitFor(parkedAll, 30_000, 'rows recorded on b parked').catch((err: Error) => {
        throw new Error(`${err.message} (last seen: ${seen})`);
      });
      await expectNoneScanned(a, ep.id);
      await deliveredOnceEach(a, clock, r, delivered, answer, 40);
    } finally {
      await b?.close();
      await a.close();
    }
  });

  /**
   * Rows parked in three slots of retry windows; a failed probe once the first slot's windows passed, then
   * the receiver answering. `legacy`: the rows then lose their buckets (as if parked before buckets
   * existed) and another process, started on the same database, takes the endpoint over.
   */
  async function expiryAndDrain(legacy: boolean): Promise<void> {
    const env = { ...WEBHOOK_TEST_ENV, WEBHOOK_RETRY_WINDOW_SECONDS: '600' };
    const a = await createTestApp({ env });
    let b: TestApp | undefined;
    let aOpen = true;
    try {
      const { clock, r, delivered, answer, w, ep } = await failingEndpoint(a);
      let dispatcher = a.app.get(WebhookDispatcher);
      let repo = a.app.get(WebhookDeliveriesRepository);
      const records = a.app.get(ParkedEndpointsRepository);
      const pending = async () => repo.list(ep.id, { status: 'pending', limit: 1000 });

      // Three groups of rows, two slots of retry windows apart: each group parked into buckets of its own slot
      // (10 rows before them opened the circuit; they wait held or parked). park() returns once every row
      // is stored and each never attempted is parked (settle).
      await park(a, clock, r, w, ep.id, 10, 20);
      for (let g = 1; g < 3; g++) {
        clock.advance(2 * PARKED_SLOT_MS);
        // The probe due now fails (the circuit is open again, its next probe later), and the node's record
        // of the endpoint is renewed for the moved clock before rows are parked under it again.
        const probes = r.received.length;
        await waitFor(async () => (await dispatcher.runOnce(), r.received.length > probes), 20_000, 'a probe');
        const renewed = async () => (await records.all()).some((rec) => rec.endpoint_id === ep.id && new Date(rec.lease_until).getTime() > clock.now() + 2000);
        await waitFor(renewed, 20_000, 'record renewed');
        for (let i = 0; i < 20; i++) await send(w);
        await settle(a, clock, ep.id, 30 + 20 * g, `group ${g} parked`);
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
      if (legacy) {
        const db = a.app.get<Connection>(getConnectionToken()).db!;
        await db.collection('webhook_pending').updateMany({}, { $unset: { parked_bucket: '', parked_slot: '' } });
        await db.collection('webhook_parked_buckets').deleteMany({});
        await a.close();
        aOpen = false;
        b = await createTestApp({ dbName: a.dbName, env });
        useTestClock(b.app, clock);
        dispatcher = b.app.get(WebhookDispatcher);
        repo = b.app.get(WebhookDeliveriesRepository);
      }
      // Past the lease of a's record too: with `legacy`, b takes the endpoint over and its probe is due at once.
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
      answer();
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
      await b?.close();
      if (aOpen) await a.close();
    }
  }

  it('a failed probe dead-letters exactly the parked rows whose window passed (buckets of several slots); the drain then delivers every other one once', async () => {
    await expiryAndDrain(false);
  });

  it('rows parked before buckets existed are still dead-lettered when their window passed and drained once (taken over by a new process)', async () => {
    await expiryAndDrain(true);
  });
});
