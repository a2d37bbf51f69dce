import { AppError } from '@chat/errors';
import { QuotaService } from '@chat/quotas';
import { adminLogin, api, asAdmin, createTenant } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

async function refusal(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a quota refusal');
}

describe.each([
  ['Redis', {}],
  ['in-process (REDIS_URL=none)', { REDIS_URL: 'none' }],
])('quotas (%s)', (_mode, env: Record<string, string>) => {
  let t: TestApp;
  let quotas: QuotaService;
  beforeAll(async () => {
    t = await createTestApp({ env });
    quotas = t.app.get(QuotaService);
  });
  afterAll(async () => t?.close());

  it('answers 429 rate_limited with Retry-After past api_requests_per_minute, audits it, and applies a raised quota at once', async () => {
    const tenant = await createTenant(t, { quotas: { api_requests_per_minute: 3 } });
    for (let i = 0; i < 3; i++) await api(t, tenant).get('/v1/auth/whoami').expect(200);
    const r = await api(t, tenant).get('/v1/auth/whoami').expect(429);
    expect(r.body.error).toMatchObject({ code: 'rate_limited', details: { quota: 'api_requests_per_minute', limit: 3 } });
    const retry = Number(r.headers['retry-after']);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);

    const admin = asAdmin(t, await adminLogin(t));
    const audit = await admin.get(`/admin/audit-logs?tenant_id=${tenant.tenantId}&action=quota.exceeded`).expect(200);
    expect(audit.body.data[0]).toMatchObject({ success: false, severity: 'warning', resource: { type: 'quota', id: 'api_requests_per_minute' } });

    await admin.patch(`/admin/tenants/${tenant.tenantId}`).send({ quotas: { api_requests_per_minute: 100 } }).expect(200);
    await api(t, tenant).get('/v1/auth/whoami').expect(200);
  });

  it('limits messages per second, and refuses a batch that does not fit without consuming it', async () => {
    const { tenantId } = await createTenant(t, { quotas: { messages_per_second: 3 } });
    await quotas.consumeMessages(tenantId);
    await quotas.consumeMessages(tenantId, 2);
    const e = await refusal(quotas.consumeMessages(tenantId));
    expect([e.code, e.getStatus(), e.retryAfterSeconds]).toEqual(['rate_limited', 429, 1]);
    const second = await createTenant(t, { quotas: { messages_per_second: 3 } });
    await expect(quotas.consumeMessages(second.tenantId, 4)).rejects.toMatchObject({ code: 'rate_limited' });
    await quotas.consumeMessages(second.tenantId, 3); // the refused batch consumed nothing
  });

  it('counts concurrent connections per tenant (idempotent per id, released on disconnect)', async () => {
    const { tenantId } = await createTenant(t, { quotas: { concurrent_connections: 2 } });
    await quotas.acquireConnection(tenantId, 'c1');
    await quotas.acquireConnection(tenantId, 'c2');
    await quotas.acquireConnection(tenantId, 'c1');
    const e = await refusal(quotas.acquireConnection(tenantId, 'c3'));
    expect([e.code, e.getStatus()]).toEqual(['quota_exceeded', 429]);
    expect(e.retryAfterSeconds).toBeGreaterThan(0);
    expect(await quotas.connectionCount(tenantId)).toBe(2);
    await quotas.refreshConnections(tenantId, ['c1', 'c2']);
    await quotas.releaseConnection(tenantId, 'c1');
    await quotas.acquireConnection(tenantId, 'c3');
    // Another tenant has its own count.
    const other = await createTenant(t, { quotas: { concurrent_connections: 1 } });
    await quotas.acquireConnection(other.tenantId, 'c1');
  });

  it('checks users and storage totals', async () => {
    const { tenantId } = await createTenant(t, { quotas: { users: 5, storage_bytes: 1000 } });
    await quotas.assertUsersBelowQuota(tenantId, 4);
    expect((await refusal(quotas.assertUsersBelowQuota(tenantId, 5))).code).toBe('quota_exceeded');
    await quotas.assertStorage(tenantId, 900, 100);
    const e = await refusal(quotas.assertStorage(tenantId, 900, 101));
    expect([e.code, e.getStatus()]).toEqual(['quota_exceeded', 429]);
    expect(e.getResponse()).toMatchObject({ error: { details: { quota: 'storage_bytes', limit: 1000 } } });
  });
});
