import request from 'supertest';
import { adminLogin, api, asAdmin, asUser, createTenant, userToken } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

describe('admin API: key lifecycle, suspension, audit (real FerretDB + Redis)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  it('logs in the bootstrapped admin and refuses bad credentials in the error shape', async () => {
    const token = await adminLogin(t);
    const me = await asAdmin(t, token).get('/admin/auth/me').expect(200);
    expect(me.body).toMatchObject({ email: 'admin@test.local', role: 'owner', status: 'active' });
    const bad = await request(t.url).post('/admin/auth/login').send({ email: 'admin@test.local', password: 'wrong-password' }).expect(401);
    expect(bad.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    await request(t.url).get('/admin/tenants').expect(401);
    await request(t.url).get('/admin/tenants').set('Authorization', 'Bearer nonsense').expect(401);
  });

  it('creates, uses, rotates and revokes an API key', async () => {
    const tenant = await createTenant(t);
    const who = await api(t, tenant).get('/v1/auth/whoami').expect(200);
    expect(who.body).toMatchObject({ kind: 'api_key', tenant_id: tenant.tenantId, application_id: tenant.applicationId, key_id: tenant.apiKeyId });

    const admin = asAdmin(t, tenant.adminToken);
    const listed = await admin.get(`/admin/applications/${tenant.applicationId}/api-keys`).expect(200);
    expect(listed.body.data).toHaveLength(1);
    expect(JSON.stringify(listed.body)).not.toContain(tenant.apiKey);
    expect(listed.body.data[0]).not.toHaveProperty('hash');

    const rotated = await admin.post(`/admin/api-keys/${tenant.apiKeyId}/rotate`).send({ grace_seconds: 60 }).expect(200);
    expect(rotated.body.key).toMatch(/^ck_[0-9a-f]{12}_/);
    expect(rotated.body.previous.replaced_by).toBe(rotated.body.id);
    // Both work during the grace period.
    await api(t, tenant).get('/v1/auth/whoami').expect(200);
    await api(t, rotated.body.key).get('/v1/auth/whoami').expect(200);

    await admin.post(`/admin/api-keys/${tenant.apiKeyId}/revoke`).expect(200);
    const refused = await api(t, tenant).get('/v1/auth/whoami').expect(401);
    expect(refused.body.error.code).toBe('unauthorized');
    await api(t, rotated.body.key).get('/v1/auth/whoami').expect(200);

    // Rotation with no grace: the old key stops at once.
    const again = await admin.post(`/admin/api-keys/${rotated.body.id}/rotate`).send({ grace_seconds: 0 }).expect(200);
    await api(t, rotated.body.key).get('/v1/auth/whoami').expect(401);
    await api(t, again.body.key).get('/v1/auth/whoami').expect(200);
  });

  it('suspends a tenant: its keys and tokens get 403 at once; reactivation restores them', async () => {
    const tenant = await createTenant(t);
    const jwt = await userToken(t, tenant, 'alice');
    await asUser(t, jwt).get('/v1/auth/whoami').expect(200);
    const admin = asAdmin(t, tenant.adminToken);
    await admin.post(`/admin/tenants/${tenant.tenantId}/suspend`).send({ reason: 'unpaid' }).expect(200);
    const k = await api(t, tenant).get('/v1/auth/whoami').expect(403);
    expect(k.body.error.code).toBe('tenant_suspended');
    const u = await asUser(t, jwt).get('/v1/auth/whoami').expect(403);
    expect(u.body.error.code).toBe('tenant_suspended');
    await admin.post(`/admin/tenants/${tenant.tenantId}/reactivate`).expect(200);
    await api(t, tenant).get('/v1/auth/whoami').expect(200);
    await asUser(t, jwt).get('/v1/auth/whoami').expect(200);

    const audit = await admin.get(`/admin/audit-logs?tenant_id=${tenant.tenantId}&action=tenant.suspend`).expect(200);
    expect(audit.body.data[0]).toMatchObject({ action: 'tenant.suspend', success: true, severity: 'critical', resource: { type: 'tenant', id: tenant.tenantId } });
  });
});
