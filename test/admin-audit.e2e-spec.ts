/* The audit log as admins read it (GET /admin/audit-logs): API key lifecycle records, failed admin
 * actions, a refusal for a missing API-key scope, filters and cursor pagination. Real FerretDB, Redis. */
import request from 'supertest';
import type { AuditLogView } from '@chat/contracts';
import { adminLogin, api, asAdmin, createTenant } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

type Entry = AuditLogView;

describe('admin API: audit log', () => {
  let t: TestApp;
  let admin: ReturnType<typeof asAdmin>;
  let adminId: string;
  beforeAll(async () => {
    t = await createTestApp();
    admin = asAdmin(t, await adminLogin(t));
    adminId = (await admin.get('/admin/auth/me').expect(200)).body.id;
  });
  afterAll(async () => t?.close());

  const logs = async (query: string): Promise<Entry[]> => (await admin.get(`/admin/audit-logs?${query}`).expect(200)).body.data;

  it('records API key created, rotated and revoked with actor, resource, tenant, IP, success and severity', async () => {
    const tenant = await createTenant(t);
    const created = await admin.post(`/admin/applications/${tenant.applicationId}/api-keys`).send({ name: 'audited', scopes: ['users:read'] }).expect(201);
    const keyId: string = created.body.id;
    const rotated = await admin.post(`/admin/api-keys/${keyId}/rotate`).send({ grace_seconds: 0 }).expect(200);
    await admin.post(`/admin/api-keys/${rotated.body.id}/revoke`).expect(200);

    // Newest first; the rotation is recorded on the key that was rotated.
    const trail = await logs(`tenant_id=${tenant.tenantId}&resource_type=api_key&limit=100`);
    const mine = trail.filter((e) => e.resource.id === keyId || e.resource.id === rotated.body.id);
    expect(mine.map((e) => [e.action, e.resource.id])).toEqual([
      ['api_key.revoke', rotated.body.id],
      ['api_key.rotate', keyId],
      ['api_key.create', keyId],
    ]);
    expect(mine.map((e) => e.severity)).toEqual(['critical', 'warning', 'warning']);
    for (const e of mine) {
      expect(e).toMatchObject({ actor: { type: 'admin', id: adminId }, resource: { type: 'api_key' }, tenant_id: tenant.tenantId, success: true });
      expect(e.ip).toMatch(/127\.0\.0\.1|::1/);
      expect(Number.isNaN(Date.parse(e.at))).toBe(false);
    }
    expect(mine[2].details).toMatchObject({ parent_id: tenant.applicationId });
    // The clear-text key never reaches the audit log.
    expect(JSON.stringify(trail)).not.toContain(created.body.key);
    expect(JSON.stringify(trail)).not.toContain(rotated.body.key);

    // Filters narrow to one key, one action.
    expect((await logs(`resource_id=${keyId}`)).map((e) => e.action)).toEqual(['api_key.rotate', 'api_key.create']);
    expect((await logs(`resource_id=${rotated.body.id}&action=api_key.revoke&severity=critical`)).length).toBe(1);

    // A failed admin action is recorded too: success false, warning, the error code.
    const ghost = '0123456789abcdef01234567';
    await admin.post(`/admin/api-keys/${ghost}/revoke`).expect(404);
    const failed = await logs(`resource_id=${ghost}&action=api_key.revoke&success=false`);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ success: false, severity: 'warning', actor: { type: 'admin', id: adminId }, details: { code: 'not_found' } });
  });

  it('pages through a filter with cursor and limit, newest first, without gaps or repeats', async () => {
    const tenant = await createTenant(t);
    for (let i = 0; i < 7; i++) await admin.patch(`/admin/tenants/${tenant.tenantId}`).send({ metadata: { n: i } }).expect(200);
    const all = await logs(`tenant_id=${tenant.tenantId}&limit=100`);
    // createTenant: tenant.create, application.create, api_key.create; then 7 updates.
    expect(all.filter((e) => e.action === 'tenant.update')).toHaveLength(7);
    expect(all.length).toBeGreaterThanOrEqual(10);

    const seen: Entry[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: request.Response = await admin.get(`/admin/audit-logs?tenant_id=${tenant.tenantId}&limit=3${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
      expect(page.body.data.length).toBeLessThanOrEqual(3);
      if (page.body.next_cursor) expect(page.body.data).toHaveLength(3);
      seen.push(...page.body.data);
      cursor = page.body.next_cursor;
      pages++;
    } while (cursor && pages < 20);
    expect(cursor).toBeNull();
    expect(pages).toBe(Math.ceil(all.length / 3));
    expect(seen.map((e) => e.id)).toEqual(all.map((e) => e.id));
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i - 1].id > seen[i].id).toBe(true);
      expect(Date.parse(seen[i - 1].at)).toBeGreaterThanOrEqual(Date.parse(seen[i].at));
    }

    // A time window and a filter combined: the updates only, still paged.
    const from = all[all.length - 1].at;
    const to = new Date(Date.parse(all[0].at) + 1).toISOString();
    const updates = await logs(`tenant_id=${tenant.tenantId}&action=tenant.update&from=${from}&to=${to}&limit=100`);
    expect(updates).toHaveLength(7);
    expect(updates.map((e) => (e.details as { code?: string } | null)?.code)).toEqual(Array(7).fill(undefined));
    expect(await logs(`tenant_id=${tenant.tenantId}&to=${from}`)).toEqual([]);

    // Bad paging input is a 400 in the standard shape.
    for (const q of ['cursor=zzz', 'limit=0', 'limit=101', 'success=maybe', 'severity=loud', 'from=yesterday']) {
      expect((await admin.get(`/admin/audit-logs?${q}`).expect(400)).body.error.code).toBe('validation_failed');
    }
    await request(t.url).get('/admin/audit-logs').expect(401);
    await api(t, tenant).get('/admin/audit-logs').expect(401);
  });

  it('audits a call refused for a missing API-key scope (once a minute per key and route)', async () => {
    const tenant = await createTenant(t, { scopes: ['messages:read'] });
    for (let i = 0; i < 3; i++) {
      const res = await api(t, tenant).put('/v1/users/alice').send({ profile: { display_name: 'Alice' } }).expect(403);
      expect(res.body.error).toEqual({ code: 'forbidden', message: expect.stringContaining('users:write'), details: { missing_scopes: ['users:write'] } });
    }
    const denied = await logs(`tenant_id=${tenant.tenantId}&action=auth.permission_denied`);
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({
      actor: { type: 'api_key', id: tenant.apiKeyId },
      resource: { type: 'route', id: 'PUT /v1/users/:external_id' },
      tenant_id: tenant.tenantId,
      success: false,
      severity: 'warning',
      details: { missing_scopes: ['users:write'] },
    });
    expect(denied[0].ip).toMatch(/127\.0\.0\.1|::1/);
    // Another route is another entry.
    await api(t, tenant).post('/v1/users/batch').send({ users: [{ external_id: 'bob' }] }).expect(403);
    expect(await logs(`tenant_id=${tenant.tenantId}&action=auth.permission_denied`)).toHaveLength(2);
  });
});
