/* A delivery's attempt log through the admin API, whatever way its attempts are stored: a 2xx first
 * attempt kept on the delivery row (no webhook_attempts document), attempts after a failure or a replay
 * as documents, and rows written by the version before the fold (a document for every attempt). */
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { WebhookEndpointsRepository, WebhookOutbox } from '@chat/webhooks';
import { asAdmin, createTenant } from './support/factories';
import { waitFor } from './support/socket-client';
import { webhooksSuite } from './webhooks-helpers';

interface AttemptView {
  attempt: number;
  at: string;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
}

describe('webhook attempt logs through the admin API (FerretDB, Redis, a real receiver)', () => {
  const { t, receiver, world, send, endpoint } = webhooksSuite();
  const db = () => t.app.get<Connection>(getConnectionToken());
  const attemptDocs = (deliveryId: string) => db().collection('webhook_attempts').countDocuments({ delivery_id: deliveryId });

  /** The endpoint's one delivery once it is delivered with `attempts` attempts (admin API). */
  async function deliveredOnce(adminToken: string, endpointId: string, attempts: number) {
    const admin = asAdmin(t, adminToken);
    let id = '';
    await waitFor(
      async () => {
        const page = (await admin.get(`/admin/webhooks/${endpointId}/deliveries`).expect(200)).body.data as Array<{ id: string; status: string; attempts: number }>;
        id = page[0]?.id ?? '';
        return page.length === 1 && page[0]!.status === 'delivered' && page[0]!.attempts === attempts;
      },
      15_000,
      `delivered after ${attempts} attempt(s)`,
    );
    return (await admin.get(`/admin/webhooks/${endpointId}/deliveries/${id}`).expect(200)).body as {
      id: string;
      event_id: string;
      status: string;
      attempts: number;
      last_status_code: number;
      attempt_log: AttemptView[];
    };
  }

  it('a first-try delivery lists its one attempt (status, latency); a failed-then-delivered one lists every attempt', async () => {
    const ok = await receiver();
    const w = await world();
    const ep = await endpoint(t, w.tenant, ok.url, ['message.new']);
    const before = Date.now();
    await send(w);
    const first = await deliveredOnce(w.tenant.adminToken, ep.id, 1);
    expect(first).toMatchObject({ status: 'delivered', attempts: 1, last_status_code: 200 });
    expect(first.attempt_log).toEqual([{ attempt: 1, at: expect.any(String), status_code: 200, latency_ms: expect.any(Number), error: null }]);
    const at = new Date(first.attempt_log[0]!.at).getTime();
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(at).toBeLessThanOrEqual(Date.now());
    expect(first.attempt_log[0]!.latency_ms).toBeGreaterThanOrEqual(0);
    // Kept on the delivery row: no attempt document of its own.
    expect(await attemptDocs(first.id)).toBe(0);

    const flaky = await receiver();
    flaky.respond = (_req, nth) => (nth === 1 ? 500 : 200);
    const v = await world();
    const ep2 = await endpoint(t, v.tenant, flaky.url, ['message.new']);
    await send(v);
    const retried = await deliveredOnce(v.tenant.adminToken, ep2.id, 2);
    expect(retried.attempt_log).toEqual([
      { attempt: 1, at: expect.any(String), status_code: 500, latency_ms: expect.any(Number), error: null },
      { attempt: 2, at: expect.any(String), status_code: 200, latency_ms: expect.any(Number), error: null },
    ]);
    expect(new Date(retried.attempt_log[0]!.at).getTime()).toBeLessThanOrEqual(new Date(retried.attempt_log[1]!.at).getTime());
    expect(await attemptDocs(retried.id)).toBe(2);
  });

  it('a first-try delivered event is replayed (one, then all since a time) with its body, and lists every attempt', async () => {
    const r = await receiver();
    const w = await world();
    const ep = await endpoint(t, w.tenant, r.url, ['message.new']);
    const admin = asAdmin(t, w.tenant.adminToken);
    await send(w);
    const d = await deliveredOnce(w.tenant.adminToken, ep.id, 1);
    const original = r.received.find((h) => h.id === d.event_id)!;

    expect((await admin.post(`/admin/webhooks/${ep.id}/deliveries/${d.id}/replay`).expect(202)).body).toEqual({ requeued: 1 });
    await waitFor(() => r.received.filter((h) => h.id === d.event_id).length === 2, 15_000, 'replayed');
    const once = await deliveredOnce(w.tenant.adminToken, ep.id, 2);
    expect(once.attempt_log.map((a) => [a.attempt, a.status_code, a.error])).toEqual([
      [1, 200, null],
      [2, 200, null],
    ]);

    const since = await admin.post(`/admin/webhooks/${ep.id}/replay`).send({ since: new Date(0).toISOString() }).expect(202);
    expect(since.body).toEqual({ requeued: 1 });
    await waitFor(() => r.received.filter((h) => h.id === d.event_id).length === 3, 15_000, 'replayed since');
    const twice = await deliveredOnce(w.tenant.adminToken, ep.id, 3);
    expect(twice.attempt_log.map((a) => [a.attempt, a.status_code])).toEqual([
      [1, 200],
      [2, 200],
      [3, 200],
    ]);
    // The same event, the same body, every time.
    for (const h of r.received.filter((x) => x.id === d.event_id)) expect(h.raw).toBe(original.raw);
  });

  it('a delivered row written by the version before the fold (an attempt document per attempt) lists and replays as before', async () => {
    const r = await receiver();
    const tenant = await createTenant(t);
    const ep = await endpoint(t, tenant, r.url, ['message.new']);
    const doc = await t.app.get(WebhookEndpointsRepository).find(ep.id);
    const at = new Date(Date.now() - 60_000);
    const payload = { id: 'evt_written_before_the_fold', type: 'message.new', created_at: at.toISOString(), tenant_id: tenant.tenantId, data: {} };
    const row = t.app.get(WebhookOutbox).row(doc!, 'evt_written_before_the_fold', 'message.new', payload, at);
    // As the previous version left it: the whole row in the log, its attempt as a document.
    await db()
      .collection('webhook_deliveries')
      .insertOne({ ...row, status: 'delivered', attempts: 1, last_status_code: 204, delivered_at: at, updated_at: at } as never);
    await db()
      .collection('webhook_attempts')
      .insertOne({ delivery_id: row._id, endpoint_id: ep.id, tenant_id: tenant.tenantId, attempt: 1, at, status_code: 204, latency_ms: 7, error: null, node: 'old' });
    const admin = asAdmin(t, tenant.adminToken);
    const shown = (await admin.get(`/admin/webhooks/${ep.id}/deliveries/${row._id}`).expect(200)).body as { status: string; attempt_log: AttemptView[] };
    expect(shown.status).toBe('delivered');
    expect(shown.attempt_log).toEqual([{ attempt: 1, at: at.toISOString(), status_code: 204, latency_ms: 7, error: null }]);

    await admin.post(`/admin/webhooks/${ep.id}/deliveries/${row._id}/replay`).expect(202);
    await waitFor(() => r.received.some((h) => h.id === 'evt_written_before_the_fold'), 15_000, 'replayed');
    const after = await deliveredOnce(tenant.adminToken, ep.id, 2);
    expect(after.attempt_log.map((a) => [a.attempt, a.status_code, a.latency_ms])).toEqual([
      [1, 204, 7],
      [2, 200, expect.any(Number)],
    ]);
  });
});
