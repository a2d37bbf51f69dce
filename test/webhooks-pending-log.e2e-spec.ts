/* Pending rows live apart from the delivery log (webhook_pending / webhook_deliveries): what the admin
 * API shows does not change, and a pending row an earlier version kept in the log is still delivered. */
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { WebhookOutbox } from '@chat/webhooks';
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
});
