/* Pending rows live apart from the delivery log (webhook_pending / webhook_deliveries): what the admin
 * API shows does not change, and a pending row an earlier version kept in the log is still delivered. */
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { WebhookDeliveriesRepository, WebhookEndpointsRepository, WebhookOutbox } from '@chat/webhooks';
import { api, createTenant } from './support/factories';
import { waitFor } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';
import { WEBHOOK_TEST_ENV, WebhookReceiver } from './support/webhook-receiver';

jest.setTimeout(120_000);

describe('webhook pending rows apart from the delivery log', () => {
  const apps: TestApp[] = [];
  const r = new WebhookReceiver();

  beforeAll(async () => {
    await r.start();
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await r.stop();
  });

  it('a pending row stored in the log by an earlier version is delivered after a restart, then listed once, delivered', async () => {
    const first = await createTestApp({ env: WEBHOOK_TEST_ENV });
    apps.push(first);
    const tenant = await createTenant(first);
    const ep = (await api(first, tenant).post('/v1/webhooks').send({ url: r.url, events: ['message.new'] }).expect(201)).body as { id: string };
    const [doc] = await first.app.get(WebhookOutbox).endpointsFor(tenant.tenantId, true);
    const row = first.app.get(WebhookOutbox).row(doc!, 'evt_pending_in_the_log', 'message.new', { id: 'evt_pending_in_the_log', type: 'message.new', data: {} }, new Date());
    // Where the version before the split kept every row.
    await first.app.get<Connection>(getConnectionToken()).collection('webhook_deliveries').insertOne(row as never);
    const second = await createTestApp({ env: WEBHOOK_TEST_ENV, dbName: first.dbName });
    apps.push(second);
    await waitFor(() => r.received.some((h) => h.id === 'evt_pending_in_the_log'), 30_000, 'the row delivered');
    const list = async () =>
      (await api(second, tenant).get(`/v1/webhooks/${ep.id}/deliveries`).query({ limit: 100 }).expect(200)).body.data as Array<{ id: string; status: string }>;
    await waitFor(async () => (await list()).every((d) => d.status === 'delivered'), 10_000, 'recorded as delivered');
    expect((await list()).map((d) => d.id)).toEqual([row._id]);
    expect(r.received.filter((h) => h.id === 'evt_pending_in_the_log')).toHaveLength(1);
  });

  it('a row whose outcome is written twice (a redelivery after its lease ran out) is listed once, with the later outcome', async () => {
    if (!apps.length) apps.push(await createTestApp({ env: WEBHOOK_TEST_ENV }));
    const app = apps[0]!;
    const tenant = await createTenant(app);
    // Inactive: the dispatcher leaves its rows alone, this test writes their outcomes.
    const ep = (await api(app, tenant).post('/v1/webhooks').send({ url: r.url, events: ['message.new'], active: false }).expect(201)).body as { id: string };
    const doc = await app.app.get(WebhookEndpointsRepository).find(ep.id);
    const repo = app.app.get(WebhookDeliveriesRepository);
    const now = new Date();
    const row = { ...app.app.get(WebhookOutbox).row(doc!, 'evt_written_twice', 'message.new', { id: 'evt_written_twice' }, now), lease_owner: 'first', leased: true, lease_until: new Date(now.getTime() + 60_000) };
    expect(await repo.insertIfAbsent([row])).toBe(1);
    expect(await repo.finishDelivered([row], ['first'], 200, now)).toBe(1);
    // The second claim's copy (it found the row pending before the first outcome removed it).
    await repo.finishDelivered([{ ...row, lease_owner: 'second', attempts: 1 }], ['second'], 202, new Date(now.getTime() + 1000));
    const list = (await api(app, tenant).get(`/v1/webhooks/${ep.id}/deliveries`).expect(200)).body.data as Array<{ id: string; status: string; attempts: number }>;
    expect(list.map((d) => [d.id, d.status, d.attempts])).toEqual([[row._id, 'delivered', 2]]);
  });
});
