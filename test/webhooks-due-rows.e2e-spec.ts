/* The dispatcher's due-rows scan asks, most of the time, only for rows no lease holds (`leased: false`, an
 * equality FerretDB pushes down to PostgreSQL) and no open circuit parked (`parked: false`, served by a GIN
 * index on FerretDB), so the rows in flight, in a node's backlog or parked are not read by every scan. A
 * row whose lease ran out (its node died holding it) or stored without those fields (an older version) is
 * still found: every WEBHOOK_LEASE_MS / 2 a scan also looks for the former, and at start and every
 * LEGACY_SCAN_EVERY_MS for the latter. The dispatcher's Clock is held by the test. */
import { DatabaseInfo } from '@chat/database';
import { LEGACY_SCAN_EVERY_MS, WebhookDeliveriesRepository, WebhookDispatcher, WebhookOutbox } from '@chat/webhooks';
import { api, createTenant } from './support/factories';
import { waitFor } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';
import { restoreClock, useTestClock } from './support/test-clock';
import { WEBHOOK_TEST_ENV, WebhookReceiver } from './support/webhook-receiver';

jest.setTimeout(120_000);

describe('webhook due-rows scans', () => {
  let t: TestApp;
  const r = new WebhookReceiver();

  beforeAll(async () => {
    await r.start();
    t = await createTestApp({ env: WEBHOOK_TEST_ENV });
  });
  afterAll(async () => {
    restoreClock(t.app);
    await t?.close();
    await r.stop();
  });

  /** A new tenant's endpoint on the receiver, and a row of event `id` for it as the outbox makes it (not stored). */
  async function rowForNewEndpoint(id: string) {
    const clock = useTestClock(t.app);
    const tenant = await createTenant(t);
    await api(t, tenant).post('/v1/webhooks').send({ url: r.url, events: ['message.new'] }).expect(201);
    const [ep] = await t.app.get(WebhookOutbox).endpointsFor(tenant.tenantId, true);
    const now = new Date(clock.now());
    return { clock, now, row: t.app.get(WebhookOutbox).row(ep!, id, 'message.new', { id, type: 'message.new', data: {} }, now) };
  }

  it('a row leased by a node that died is delivered once its lease ran out; scans for free rows leave it out', async () => {
    const { clock, now, row } = await rowForNewEndpoint('evt_due_rows_dead_lease');
    // As a node that inserted it leased to itself and then died would leave it (WEBHOOK_LEASE_MS is 5 s here).
    Object.assign(row, { lease_owner: 'a-node-that-died', leased: true, lease_until: new Date(now.getTime() + 5000) });
    const repo = t.app.get(WebhookDeliveriesRepository);
    expect(await repo.insertIfAbsent([row])).toBe(1);

    const later = new Date(now.getTime() + 5001);
    expect((await repo.dueIds(later, 100, [], true)).map((d) => d._id)).not.toContain(row._id);
    expect((await repo.dueIds(later, 100, [], false)).map((d) => d._id)).toContain(row._id);

    // The lease runs out: the dispatcher's periodic scans (WEBHOOK_DISPATCH_INTERVAL_MS 100 ms here) find it.
    clock.advance(5001);
    await waitFor(() => r.received.some((h) => h.id === 'evt_due_rows_dead_lease'), 30_000, 'the row retried after its lease ran out');
    await t.app.get(WebhookDispatcher).runOnce();
    expect(r.received.filter((h) => h.id === 'evt_due_rows_dead_lease')).toHaveLength(1);
  });

  it('a free row stored without `parked` (before it was always written) is delivered by a full scan that looks for such rows', async () => {
    const { clock, now, row } = await rowForNewEndpoint('evt_due_rows_no_parked');
    expect(row.parked).toBe(false);
    delete row.parked;
    const repo = t.app.get(WebhookDeliveriesRepository);
    expect(await repo.insertIfAbsent([row])).toBe(1);

    expect((await repo.dueIds(now, 100, [], true)).map((d) => d._id)).not.toContain(row._id);
    expect((await repo.dueIds(now, 100, [], false)).map((d) => d._id)).not.toContain(row._id);
    expect((await repo.dueIds(now, 100, [], false, true)).map((d) => d._id)).toContain(row._id);

    // A full scan looks for such rows at start and every LEGACY_SCAN_EVERY_MS (of the test clock) after.
    clock.advance(LEGACY_SCAN_EVERY_MS + 1);
    await waitFor(() => r.received.some((h) => h.id === 'evt_due_rows_no_parked'), 30_000, 'the row without `parked` delivered by a full scan');
    await t.app.get(WebhookDispatcher).runOnce();
    expect(r.received.filter((h) => h.id === 'evt_due_rows_no_parked')).toHaveLength(1);
  });

  it('on FerretDB the app creates the GIN indexes the free scan, the drain and the expiry read by (none on MongoDB)', async () => {
    const names = (await t.app.get(DatabaseInfo).connection.db!.collection('webhook_pending').listIndexes().toArray()).map((i) => String(i.name));
    const gin = ['ferretdb_gin_parked', 'ferretdb_gin_parked_bucket', 'ferretdb_gin_parked_slot'];
    if (t.app.get(DatabaseInfo).dialect === 'ferretdb') expect(names).toEqual(expect.arrayContaining(gin));
    else for (const n of gin) expect(names).not.toContain(n);
  });
});
