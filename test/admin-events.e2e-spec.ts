/* Two nodes on one database and one Redis: revocation and suspension made on one node take effect on
 * the other at once (PlatformEvents over Redis pub/sub clear its caches). */
import Redis from 'ioredis';
import { PlatformEvents } from '@chat/platform';
import { adminLogin, api, asAdmin, asUser, createTenant, userToken } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';

// The caches live for PLATFORM_CACHE_TTL (300 s here): a change seen well before that came through the
// event. The deadline is far below the TTL and far above the usual few milliseconds (a loaded machine).
const CACHE_TTL_ENV = { PLATFORM_CACHE_TTL_SECONDS: '300' };
const eventually = (check: () => Promise<boolean>) => waitFor(check, { timeoutMs: 10_000, what: 'the change on node B' });

describe('PlatformEvents across nodes (real Redis)', () => {
  let nodeA: TestApp;
  let nodeB: TestApp;
  beforeAll(async () => {
    nodeA = await createTestApp({ env: CACHE_TTL_ENV });
    nodeB = await createTestApp({ dbName: nodeA.dbName, env: CACHE_TTL_ENV });
  });
  afterAll(async () => {
    await nodeB?.close();
    await nodeA?.close();
  });

  it('a key revoked on node A is refused by node B (which had it cached) long before its cache expires', async () => {
    const tenant = await createTenant(nodeA);
    await api(nodeB, tenant).get('/v1/auth/whoami').expect(200); // B caches the key
    await asAdmin(nodeA, tenant.adminToken).post(`/admin/api-keys/${tenant.apiKeyId}/revoke`).expect(200);
    await eventually(async () => (await api(nodeB, tenant).get('/v1/auth/whoami')).status === 401);
  });

  it('a tenant suspended on node A gets 403 on node B long before its cache expires, and is back after reactivation', async () => {
    const tenant = await createTenant(nodeA);
    const jwt = await userToken(nodeA, tenant, 'erin');
    await asUser(nodeB, jwt).get('/v1/auth/whoami').expect(200);
    await api(nodeB, tenant).get('/v1/auth/whoami').expect(200);
    const admin = asAdmin(nodeA, await adminLogin(nodeA));
    await admin.post(`/admin/tenants/${tenant.tenantId}/suspend`).send({ reason: 'test' }).expect(200);
    await eventually(async () => (await asUser(nodeB, jwt).get('/v1/auth/whoami')).status === 403);
    expect((await api(nodeB, tenant).get('/v1/auth/whoami').expect(403)).body.error.code).toBe('tenant_suspended');
    await admin.post(`/admin/tenants/${tenant.tenantId}/reactivate`).expect(200);
    await eventually(async () => (await api(nodeB, tenant).get('/v1/auth/whoami')).status === 200);
  });

  it('delivers events to listeners on other nodes, and again after the subscriber connection is killed', async () => {
    const eventsA = nodeA.app.get(PlatformEvents);
    const eventsB = nodeB.app.get(PlatformEvents);
    const got: string[] = [];
    const off = eventsB.on('tenant.updated', ({ tenantId }) => void got.push(tenantId));
    try {
      await eventsA.publish('tenant.updated', { tenantId: 'evt1' as never });
      await eventually(async () => got.includes('evt1'));

      // Kill B's subscriber from the server side: ioredis reconnects and resubscribes.
      const killer = new Redis(process.env.REDIS_URL!);
      try {
        const list = String(await killer.call('CLIENT', 'LIST'));
        const line = list.split('\n').find((l) => l.includes(`name=platform-events-${eventsB.nodeId}`));
        const id = /\bid=(\d+)/.exec(line ?? '')?.[1];
        expect(id).toBeDefined();
        await killer.call('CLIENT', 'KILL', 'ID', id!);
      } finally {
        killer.disconnect();
      }
      await eventually(async () => {
        await eventsA.publish('tenant.updated', { tenantId: 'evt2' as never });
        return got.includes('evt2');
      });
      expect(await eventsB.checkSubscriber()).toBe(true);
    } finally {
      off();
    }
  });
});
