/* Issuing a month's invoices is idempotent, also when two admins ask at once: each tenant gets one
 * invoice and both calls answer 200. On FerretDB an upsert is a read then an insert, so two runs that
 * both found no invoice both inserted it, and the second hit the unique _id: 409 "Resource already
 * exists" instead of the run's report. */
import request from 'supertest';
import { UsageRecorder } from '@chat/usage';
import { createTestApp, TestApp } from './support/test-app';
import { createTenant } from './support/factories';

function lastMonth(): { period: string; at: Date } {
  const now = new Date();
  const at = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15, 12));
  return { period: at.toISOString().slice(0, 7), at };
}

describe('invoices issued by two admins at once (FerretDB)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { USAGE_FLUSH_SECONDS: '0', USAGE_ROLLUP_INTERVAL_SECONDS: '0', USAGE_ROLLUP_LAG_SECONDS: '0' } });
  });
  afterAll(async () => t?.close());

  it('both answer 200 and the tenant has one invoice', async () => {
    const { period, at } = lastMonth();
    const recorder = t.app.get(UsageRecorder);
    const failed: string[] = [];
    for (let i = 0; i < 20; i++) {
      const tenant = await createTenant(t, { plan: 'free' });
      const admin = { Authorization: `Bearer ${tenant.adminToken}` };
      recorder.messageSent(tenant.tenantId, 'alice', 1, at);
      await recorder.flush();
      const runs = await Promise.all([0, 1].map(() => request(t.url).post('/admin/billing/invoices').set(admin).send({ period, tenant_id: tenant.tenantId })));
      const statuses = runs.map((r) => r.status);
      const listed = (await request(t.url).get(`/admin/billing/invoices?period=${period}&tenant_id=${tenant.tenantId}`).set(admin).expect(200)).body.data;
      const created = runs.flatMap((r) => r.body.created ?? []);
      if (statuses.some((s) => s !== 200) || listed.length !== 1 || created.length !== 1) failed.push(`round ${i}: ${statuses.join(',')} ${runs.map((r) => (r.status === 200 ? '' : JSON.stringify(r.body))).join('')}, ${listed.length} listed, created ${created.length}`);
    }
    expect(failed).toEqual([]);
  }, 180_000);
});
