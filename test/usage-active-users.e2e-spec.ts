/* The monthly active-user marks of the usage roll-up, on the real store of the test run (FerretDB on
 * PostgreSQL here). Every roll-up after the first of a month marks the same users again: as one bulk
 * of 1,000 `$setOnInsert` upserts on existing documents, FerretDB v1 never answered and kept all its
 * PostgreSQL connections, so every other request of the app waited forever (the stall of the 1,000 x 2
 * MLS acceptance test: test/e2e-mls-scale.e2e-spec.ts). */
import { randomBytes } from 'node:crypto';
import { UsageRepository } from '@chat/usage';
import { createTestApp, TestApp } from './support/test-app';

jest.setTimeout(120_000);

describe('usage roll-up: active-user marks (real store)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // The roll-up timer off: the test drives the repository itself.
    t = await createTestApp({ env: { FILES_SWEEP_INTERVAL_SECONDS: '0', USAGE_ROLLUP_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => t?.close());

  it('marks 1,000 users twice (the second roll-up of a month) and the store keeps answering', async () => {
    const repo = t.app.get(UsageRepository);
    const tenant = `t_${randomBytes(4).toString('hex')}`;
    const rows = Array.from({ length: 1000 }, (_, i) => ({ tenant_id: tenant, period: '2026-12', user_id: `u${i}` }));
    await repo.markActiveUsers(rows);
    expect(await repo.countActiveUsers(tenant, '2026-12')).toBe(1000);
    // Again, with 10 new users among them: only those are added.
    await repo.markActiveUsers([...rows, ...Array.from({ length: 10 }, (_, i) => ({ tenant_id: tenant, period: '2026-12', user_id: `new${i}` }))]);
    expect(await repo.countActiveUsers(tenant, '2026-12')).toBe(1010);
  });
});
