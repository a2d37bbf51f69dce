/* Deleted users' tombstones (user_tombstones: the external id and the deletion's webhook event traces)
 * are purged by the retention job USER_TOMBSTONE_RETENTION_DAYS after the deletion, not before, and not
 * under a tenant's legal hold. Time is the app's Clock, moved by the test. */
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { mongo } from 'mongoose';
import { RetentionService } from '@chat/retention';
import { api, createTenant, TestTenant } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';
import { TestClock, useTestClock } from './support/test-clock';

const DAY = 86_400_000;

describe('user tombstone retention', () => {
  let t: TestApp;
  let clock: TestClock;
  let a: TestTenant;
  let b: TestTenant;
  let tombstones: mongo.Collection;

  beforeAll(async () => {
    t = await createTestApp({ env: { RETENTION_INTERVAL_SECONDS: '0', USER_TOMBSTONE_RETENTION_DAYS: '30' } });
    clock = useTestClock(t.app);
    a = await createTenant(t);
    b = await createTenant(t);
    tombstones = (t.app.get<Connection>(getConnectionToken()).db as unknown as mongo.Db).collection('user_tombstones');
    for (const tenant of [a, b]) {
      await api(t, tenant).put('/v1/users/gone').send({}).expect(201);
      await api(t, tenant).delete('/v1/users/gone').expect(204);
    }
  });
  afterAll(async () => t?.close());

  const count = (tenant: TestTenant) => tombstones.countDocuments({ tenant_id: tenant.tenantId });

  it('keeps a tombstone for the retention period, then purges it; a legal hold keeps it', async () => {
    const svc = t.app.get(RetentionService);
    expect(await count(a)).toBe(1);
    expect(await count(b)).toBe(1);
    clock.advance(29 * DAY);
    expect(await svc.run({ tenantId: a.tenantId })).toMatchObject({ tombstones_purged: 0 });
    expect(await count(a)).toBe(1);

    clock.advance(2 * DAY);
    await svc.setHold(b.tenantId, true);
    expect(await svc.run({ tenantId: b.tenantId })).toMatchObject({ tombstones_purged: 0 });
    expect(await count(b)).toBe(1);

    const run = await svc.run({ tenantId: a.tenantId });
    expect(run).toMatchObject({ tombstones_purged: 1 });
    expect(run!.tenants).toEqual([expect.objectContaining({ tenant_id: a.tenantId, tombstones_purged: 1 })]);
    expect(await count(a)).toBe(0);
    expect(await count(b)).toBe(1); // another tenant's run never touches it

    await svc.setHold(b.tenantId, false);
    expect(await svc.run({ tenantId: b.tenantId })).toMatchObject({ tombstones_purged: 1 });
    expect(await count(b)).toBe(0);
  });
});
