import { JwtService } from '@nestjs/jwt';
import request from 'supertest';
import { adminLogin, api, asAdmin, asUser, createTenant, userToken } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';
import { restoreClock, useTestClock } from './support/test-clock';
import { waitFor } from './support/wait-for';

const jwt = new JwtService({});
const now = () => Math.floor(Date.now() / 1000);

describe('admin API: tenants and applications; end-user token verification', () => {
  let t: TestApp;
  let admin: ReturnType<typeof asAdmin>;
  beforeAll(async () => {
    t = await createTestApp();
    admin = asAdmin(t, await adminLogin(t));
  });
  afterAll(async () => t?.close());

  it('creates, shows, lists (filters, cursor pages) and updates tenants', async () => {
    const created = await admin.post('/admin/tenants').send({ name: 'Acme', plan: 'pro', region: 'eu-west', quotas: { users: 50 } }).expect(201);
    expect(created.body).toMatchObject({ name: 'Acme', plan: 'pro', status: 'active', region: 'eu-west', quota_overrides: { users: 50 } });
    expect(created.body.quotas).toMatchObject({ users: 50, api_requests_per_minute: 6000 });
    const id = created.body.id;
    await admin.get(`/admin/tenants/${id}`).expect(200);

    const upd = await admin.patch(`/admin/tenants/${id}`).send({ plan: 'free', quotas: { users: null, messages_per_second: 7 } }).expect(200);
    expect(upd.body.quota_overrides).toEqual({ messages_per_second: 7 });
    expect(upd.body.quotas).toMatchObject({ users: 1000, messages_per_second: 7 });

    for (let i = 0; i < 3; i++) await admin.post('/admin/tenants').send({ name: `page-${i}`, plan: 'enterprise' }).expect(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: request.Response = await admin.get(`/admin/tenants?plan=enterprise&limit=2${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((x: { id: string; plan: string }) => (expect(x.plan).toBe('enterprise'), x.id)));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    const suspendedOnly = await admin.get('/admin/tenants?status=suspended').expect(200);
    expect(suspendedOnly.body.data.every((x: { status: string }) => x.status === 'suspended')).toBe(true);
  });

  it('answers bad input with 400 and unknown or malformed ids with 404', async () => {
    expect((await admin.post('/admin/tenants').send({ name: '' }).expect(400)).body.error.code).toBe('validation_failed');
    await admin.post('/admin/tenants').send({ name: 'x', plan: 'gold' }).expect(400);
    await admin.post('/admin/tenants').send({ name: 'x', quotas: { users: -1 } }).expect(400);
    await admin.post('/admin/tenants').send({ name: 'x', owner: 'me' }).expect(400);
    await admin.get('/admin/tenants?limit=1000').expect(400);
    await admin.get('/admin/tenants?cursor=zzz').expect(400);
    for (const id of ['nope', '0123456789abcdef01234567']) {
      const r = await admin.get(`/admin/tenants/${id}`).expect(404);
      expect(r.body).toEqual({ error: { code: 'not_found', message: 'Tenant not found' } });
      await admin.post(`/admin/tenants/${id}/suspend`).send({}).expect(404);
      await admin.post(`/admin/tenants/${id}/applications`).send({ name: 'a' }).expect(404);
      await admin.get(`/admin/applications/${id}`).expect(404);
      await admin.post(`/admin/applications/${id}/api-keys`).send({ scopes: ['*'] }).expect(404);
      await admin.post(`/admin/api-keys/${id}/revoke`).expect(404);
    }
    const tenant = await createTenant(t);
    await admin.post(`/admin/applications/${tenant.applicationId}/api-keys`).send({ scopes: ['Users:Write'] }).expect(400);
    await admin.post(`/admin/applications/${tenant.applicationId}/api-keys`).send({ scopes: [] }).expect(400);
    await admin.post(`/admin/applications/${tenant.applicationId}/api-keys`).send({ scopes: ['users:read'], expires_at: '2001-01-01T00:00:00Z' }).expect(400);
  });

  it('enforces API key scopes and expiry', async () => {
    // The app's clock stands still until the test moves it: expiry does not depend on how fast this runs.
    const clock = useTestClock(t.app);
    try {
      const tenant = await createTenant(t);
      const soon = new Date(clock.now() + 3_600_000).toISOString();
      const k = await admin.post(`/admin/applications/${tenant.applicationId}/api-keys`).send({ name: 'short', scopes: ['messages:read'], expires_at: soon }).expect(201);
      expect(k.body).toMatchObject({ scopes: ['messages:read'], status: 'active', expires_at: soon });
      await api(t, k.body.key).get('/v1/auth/whoami').expect(200);
      clock.advance(3_600_000 - 1);
      await api(t, k.body.key).get('/v1/auth/whoami').expect(200);
      clock.advance(1);
      expect((await api(t, k.body.key).get('/v1/auth/whoami').expect(401)).body.error.message).toMatch(/expired/);
      await api(t, 'ck_000000000000_' + 'A'.repeat(43)).get('/v1/auth/whoami').expect(401);
      await api(t, tenant.apiKey.slice(0, -1) + (tenant.apiKey.endsWith('A') ? 'B' : 'A')).get('/v1/auth/whoami').expect(401);
      await api(t, 'garbage').get('/v1/auth/whoami').expect(401);
      const shown = await admin.get(`/admin/api-keys/${k.body.id}`).expect(200);
      expect(shown.body.status).toBe('expired');
    } finally {
      restoreClock(t.app);
    }
  });

  it('records last_used_at without a write per request', async () => {
    const clock = useTestClock(t.app);
    try {
      const tenant = await createTenant(t);
      const lastUsed = async () => (await admin.get(`/admin/api-keys/${tenant.apiKeyId}`).expect(200)).body.last_used_at as string | null;
      for (let i = 0; i < 3; i++) await api(t, tenant).get('/v1/auth/whoami').expect(200);
      // The write is not awaited by the request: wait for it to land.
      await waitFor(async () => (await lastUsed()) !== null, { what: 'last_used_at' });
      const first = await lastUsed();
      expect(first).toBe(new Date(clock.now()).toISOString());
      // Within the minute: no write. After it: one. Had the earlier request written (first + 30 s), the
      // database would refuse the later write (less than a minute after it), so the last value shows both.
      clock.advance(30_000);
      await api(t, tenant).get('/v1/auth/whoami').expect(200);
      clock.advance(30_001);
      await api(t, tenant).get('/v1/auth/whoami').expect(200);
      await waitFor(async () => (await lastUsed()) !== first, { what: 'the next last_used_at write' });
      expect(await lastUsed()).toBe(new Date(clock.now()).toISOString());
    } finally {
      restoreClock(t.app);
    }
  });

  it('verifies end-user tokens: good, expired, malformed, wrongly signed, other tenant, unknown application', async () => {
    const a = await createTenant(t);
    const b = await createTenant(t);
    const good = await userToken(t, a, 'alice');
    expect((await asUser(t, good).get('/v1/auth/whoami').expect(200)).body).toMatchObject({ kind: 'user', tenant_id: a.tenantId, application_id: a.applicationId, user_id: 'alice' });

    // A token the client's own backend signs with the application secret (no kid) is accepted (for an existing user).
    await api(t, a).put('/v1/users/bob').send({}).expect(201);
    const own = jwt.sign({ sub: 'bob', tid: a.tenantId, aid: a.applicationId, exp: now() + 60 }, { secret: a.appSecret, algorithm: 'HS256' });
    expect((await asUser(t, own).get('/v1/auth/whoami').expect(200)).body.user_id).toBe('bob');

    const refusals: Record<string, string> = {
      expired: jwt.sign({ sub: 'alice', tid: a.tenantId, aid: a.applicationId, exp: now() - 10 }, { secret: a.appSecret, algorithm: 'HS256' }),
      malformed: 'not.a.jwt',
      noExp: jwt.sign({ sub: 'alice', tid: a.tenantId, aid: a.applicationId }, { secret: a.appSecret, algorithm: 'HS256' }),
      wrongSecret: jwt.sign({ sub: 'alice', tid: a.tenantId, aid: a.applicationId, exp: now() + 60 }, { secret: b.appSecret, algorithm: 'HS256' }),
      // B's tenant id on A's application (signed with A's secret): the tenant claim must match the application.
      otherTenant: jwt.sign({ sub: 'alice', tid: b.tenantId, aid: a.applicationId, exp: now() + 60 }, { secret: a.appSecret, algorithm: 'HS256' }),
      otherTenantsApp: jwt.sign({ sub: 'alice', tid: a.tenantId, aid: b.applicationId, exp: now() + 60 }, { secret: b.appSecret, algorithm: 'HS256' }),
      unknownApp: jwt.sign({ sub: 'alice', tid: a.tenantId, aid: '0123456789abcdef01234567', exp: now() + 60 }, { secret: a.appSecret, algorithm: 'HS256' }),
      noneAlg: `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'alice', tid: a.tenantId, aid: a.applicationId, exp: now() + 60 })).toString('base64url')}.`,
    };
    for (const [name, token] of Object.entries(refusals)) {
      const r = await asUser(t, token).get('/v1/auth/whoami');
      expect([name, r.status, r.body.error?.code]).toEqual([name, 401, 'unauthorized']);
    }
    await request(t.url).get('/v1/auth/whoami').expect(401);
    // An admin token is not an end-user token.
    await asUser(t, a.adminToken).get('/v1/auth/whoami').expect(401);
  });

  it('rotates an application secret with a grace period; deleting the application ends its keys and tokens', async () => {
    const tenant = await createTenant(t);
    const before = await userToken(t, tenant, 'carol');
    const rotated = await admin.post(`/admin/applications/${tenant.applicationId}/rotate-secret`).send({ grace_seconds: 60 }).expect(200);
    expect(rotated.body).toMatchObject({ secret_version: 2, secret: expect.any(String) });
    expect(rotated.body.secret).not.toBe(tenant.appSecret);
    await asUser(t, before).get('/v1/auth/whoami').expect(200);
    await api(t, tenant).put('/v1/users/dave').send({}).expect(201);
    const own = jwt.sign({ sub: 'dave', tid: tenant.tenantId, aid: tenant.applicationId, exp: now() + 60 }, { secret: tenant.appSecret, algorithm: 'HS256' });
    await asUser(t, own).get('/v1/auth/whoami').expect(200);
    const after = await userToken(t, tenant, 'carol');
    await asUser(t, after).get('/v1/auth/whoami').expect(200);

    await admin.post(`/admin/applications/${tenant.applicationId}/rotate-secret`).send({ grace_seconds: 0 }).expect(200);
    await asUser(t, before).get('/v1/auth/whoami').expect(401);
    await asUser(t, after).get('/v1/auth/whoami').expect(401);
    const listed = await admin.get(`/admin/tenants/${tenant.tenantId}/applications`).expect(200);
    expect(listed.body.data).toHaveLength(1);
    expect(JSON.stringify(listed.body)).not.toMatch(/secret_enc|"secret"/);

    const fresh = await userToken(t, tenant, 'carol');
    await admin.delete(`/admin/applications/${tenant.applicationId}`).expect(200);
    await asUser(t, fresh).get('/v1/auth/whoami').expect(401);
    await api(t, tenant).get('/v1/auth/whoami').expect(401);
    await admin.get(`/admin/applications/${tenant.applicationId}`).expect(404);
  });

  it('deletes only a suspended, exported tenant; afterwards its keys are refused and it is gone from the default list', async () => {
    const tenant = await createTenant(t);
    await admin.delete(`/admin/tenants/${tenant.tenantId}`).expect(409);
    await admin.post(`/admin/tenants/${tenant.tenantId}/suspend`).send({}).expect(200);
    expect((await admin.delete(`/admin/tenants/${tenant.tenantId}`).expect(409)).body.error.details.reason).toBe('export_required');
    await admin.post(`/admin/tenants/${tenant.tenantId}/export`).expect(200); // test/admin-tenant-delete.e2e-spec.ts checks the archive and the erase
    const del = await admin.delete(`/admin/tenants/${tenant.tenantId}`).expect(200);
    expect(del.body.status).toBe('deleted');
    await api(t, tenant).get('/v1/auth/whoami').expect(401);
    await admin.post(`/admin/tenants/${tenant.tenantId}/reactivate`).expect(404);
    await admin.patch(`/admin/tenants/${tenant.tenantId}`).send({ name: 'x' }).expect(404);
    await admin.get(`/admin/api-keys/${tenant.apiKeyId}`).expect(404); // revoked, then erased with the tenant's data
    const deleted = await admin.get('/admin/tenants?status=deleted').expect(200);
    expect(deleted.body.data.map((x: { id: string }) => x.id)).toContain(tenant.tenantId);
  });
});
