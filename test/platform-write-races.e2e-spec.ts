/* Platform documents under concurrent admin writes. A key's revocation must survive a concurrent write of the same key document. On FerretDB a
 * single-document update is read, changed in Go and written back whole, so the API key's
 * last-used-at update (made, unawaited, on a key's first use on a node) that read the key before a
 * revocation wrote it back without `revoked_at`: the revoked key worked again, on every node, for good
 * (seen once in CI as admin-events' "a key revoked on node A is refused by node B" timing out). */
import { adminLogin, api, asAdmin, createTenant } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

describe('platform documents under concurrent writes (API keys, tenants)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a revoked key stays revoked whatever update of its document ran beside the revocation', async () => {
    const tenant = await createTenant(t);
    const admin = asAdmin(t, tenant.adminToken);
    const lost: string[] = [];
    for (let i = 0; i < 30; i++) {
      const created = await admin.post(`/admin/applications/${tenant.applicationId}/api-keys`).send({ name: `k${i}`, scopes: ['*'] }).expect(201);
      const key: string = created.body.key;
      // The key's first use on this node (which updates its last_used_at, unawaited) and its
      // revocation at the same moment.
      const [first, revoke] = await Promise.all([api(t, key).get('/v1/auth/whoami'), admin.post(`/admin/api-keys/${created.body.id}/revoke`)]);
      expect([200, 401]).toContain(first.status);
      expect(revoke.status).toBe(200);
      // Written through: the stored key is revoked, and it is refused (after a use that may have
      // raced, so its last_used_at update has settled).
      await api(t, key).get('/v1/auth/whoami');
      const stored = await admin.get(`/admin/api-keys/${created.body.id}`).expect(200);
      if (!stored.body.revoked_at || (await api(t, key).get('/v1/auth/whoami')).status !== 401) lost.push(created.body.id);
    }
    expect(lost).toEqual([]);
  }, 120_000);

  it('a tenant renamed while it is suspended keeps both: the new name and the suspension', async () => {
    const admin = asAdmin(t, await adminLogin(t));
    const lost: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { tenantId } = await createTenant(t);
      const [rename, suspend] = await Promise.all([
        admin.patch(`/admin/tenants/${tenantId}`).send({ name: `renamed ${i}` }),
        admin.post(`/admin/tenants/${tenantId}/suspend`).send({ reason: 'race' }),
      ]);
      expect([rename.status, suspend.status]).toEqual([200, 200]);
      const stored = (await admin.get(`/admin/tenants/${tenantId}`).expect(200)).body;
      if (stored.name !== `renamed ${i}` || stored.status !== 'suspended') lost.push(`${tenantId}: ${stored.name}, ${stored.status}`);
    }
    expect(lost).toEqual([]);
  }, 120_000);
});
