import request from 'supertest';
import { UsageRecorder, UsageRollupService } from '@chat/usage';
import { rid, sdkTenant, uploadRawFile } from './e2e-helpers';
import { createTestApp, TestApp } from './support/test-app';

// Storage is billed on the month's maximum of stored bytes: every confirmed upload and every delete
// samples the tenant's total, and the tenant sees it through GET /v1/usage.
describe('usage metering: stored bytes (real FerretDB, s3rver)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { USAGE_FLUSH_SECONDS: '0', USAGE_ROLLUP_INTERVAL_SECONDS: '0', FILES_SWEEP_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => t?.close());

  it('samples storage on upload confirm and delete; the month shows the peak', async () => {
    const a = await sdkTenant(t);
    const other = await sdkTenant(t);
    const u = rid('st');
    const { [u]: c } = await a.users([u]);
    const { fileId } = await uploadRawFile(c!, 700);
    await c!.deleteFile(fileId);

    await t.app.get(UsageRecorder).flush();
    await t.app.get(UsageRollupService).rollup({ lagSeconds: 0 });
    const period = new Date().toISOString().slice(0, 7);
    const mine = await request(t.url).get(`/v1/usage?period=${period}`).set('X-Api-Key', a.tenant.apiKey).expect(200);
    expect(mine.body.totals.storage_bytes).toBe(700);
    // Another tenant's usage is its own.
    const theirs = await request(t.url).get(`/v1/usage?period=${period}`).set('X-Api-Key', other.tenant.apiKey).expect(200);
    expect(theirs.body.totals.storage_bytes).toBe(0);
  });
});
