/* Suspension through the public interfaces: HTTP answers 403 at once, live sockets on every gateway node
 * are dropped by the suspension event, and a new handshake is refused with tenant_suspended. */
import { UserTokenService } from '@chat/auth';
import { adminLogin, api, asAdmin, asUser, createTenant, userToken } from './support/factories';
import { connectError, connectSocket, disconnected } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';

describe('tenant suspension: HTTP and sockets on two nodes', () => {
  let nodeA: TestApp;
  let nodeB: TestApp;
  beforeAll(async () => {
    nodeA = await createTestApp();
    nodeB = await createTestApp({ dbName: nodeA.dbName });
  });
  afterAll(async () => {
    await nodeB?.close();
    await nodeA?.close();
  });

  it('drops the tenant sockets on both nodes through the suspension event and leaves other tenants connected', async () => {
    const tenant = await createTenant(nodeA);
    const other = await createTenant(nodeA);
    for (const [t, u] of [[tenant, 'alice'], [tenant, 'bob'], [other, 'alice']] as const) {
      await api(nodeA, t).put(`/v1/users/${u}`).send({ profile: { display_name: u } }).expect(201);
    }
    const onA = await connectSocket(nodeA.url, await userToken(nodeA, tenant, 'alice'));
    const onB = await connectSocket(nodeB.url, await userToken(nodeA, tenant, 'bob'));
    const bystander = await connectSocket(nodeB.url, await userToken(nodeA, other, 'alice'));
    try {
      const admin = asAdmin(nodeA, await adminLogin(nodeA));
      // Only the suspension event drops live sockets (nothing polls the tenant's status), so a drop at
      // all shows it went through; the deadline only bounds a failing test (not a timing measurement,
      // which a loaded machine would fail).
      const goneA = disconnected(onA, 10_000);
      const goneB = disconnected(onB, 10_000);
      await admin.post(`/admin/tenants/${tenant.tenantId}/suspend`).send({ reason: 'test' }).expect(200);
      await Promise.all([goneA, goneB]);
      expect(onA.received.get('tenant:suspended')?.[0]).toMatchObject({ error: { code: 'tenant_suspended' } });
      expect(bystander.connected).toBe(true);

      // The token endpoint itself is closed to a suspended tenant's key; a token minted before still fails.
      await api(nodeA, tenant).post('/v1/users/alice/tokens').send({}).expect(403);
      const jwt = (await nodeA.app.get(UserTokenService).issue({ tenantId: tenant.tenantId, applicationId: tenant.applicationId, userId: 'alice' })).token;
      expect((await connectError(nodeB.url, jwt)).data).toMatchObject({ error: { code: 'tenant_suspended' } });
      expect((await asUser(nodeB, jwt).get('/v1/auth/whoami').expect(403)).body.error.code).toBe('tenant_suspended');
      expect((await api(nodeB, tenant).get('/v1/auth/whoami').expect(403)).body.error.code).toBe('tenant_suspended');

      await admin.post(`/admin/tenants/${tenant.tenantId}/reactivate`).expect(200);
      const back = await connectSocket(nodeB.url, jwt);
      back.close();

      const audit = await admin.get(`/admin/audit-logs?tenant_id=${tenant.tenantId}&action=auth.tenant_suspended`).expect(200);
      expect(audit.body.data.length).toBeGreaterThanOrEqual(1);
    } finally {
      for (const s of [onA, onB, bystander]) s.close();
    }
  });
});
