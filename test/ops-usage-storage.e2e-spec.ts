import { createHash, randomBytes } from 'node:crypto';
import request from 'supertest';
import { md5Base64 } from '@chat/sdk';
import { UsageRecorder, UsageRollupService } from '@chat/usage';
import { rid, sdkTenant } from './e2e-helpers';
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
    const bytes = randomBytes(700);
    const ticket = await c!.createUpload({
      size: bytes.length,
      checksum: createHash('sha256').update(bytes).digest('hex'),
      content_md5: md5Base64(bytes),
      mime_type: 'application/octet-stream',
      sharing: { type: 'private' },
      encryption: { algorithm: 'xchacha20poly1305-file-v1' },
    });
    const put = await fetch(ticket.upload.url, { method: 'PUT', headers: ticket.upload.headers, body: bytes as unknown as BodyInit });
    expect(put.status).toBe(200);
    await c!.confirmUpload(ticket.file.id);
    await c!.deleteFile(ticket.file.id);

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
