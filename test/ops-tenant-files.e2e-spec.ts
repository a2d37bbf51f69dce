/* Right to erasure and data portability include the tenant's encrypted files: `tenant export` copies its
 * objects out of the bucket, `tenant erase` removes them, `restore` puts them back byte for byte. The
 * CLI runs as real processes against the test FerretDB and s3rver. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { rid, sdkTenant, uploadRawFile } from './e2e-helpers';
import { TEST_PLATFORM_ENV } from './support/factories';
import { objectExists, testBucket, testS3Client } from './support/s3';
import { createTestApp, TestApp } from './support/test-app';

const run = promisify(execFile);
const CLI = join(__dirname, '..', 'apps', 'cli', 'bin', 'chat-cli.js');
jest.setTimeout(180_000);

const s3 = testS3Client();
const bucket = testBucket;
const exists = (key: string) => objectExists(s3, key);

describe('tenant export / erase / restore with file objects (CLI processes, FerretDB, s3rver)', () => {
  let t: TestApp;
  const dir = mkdtempSync(join(tmpdir(), 'ops-files-'));
  beforeAll(async () => {
    t = await createTestApp({ env: { FILES_SWEEP_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => {
    await t?.close();
    s3.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = async (args: string[]) => {
    const { stdout } = await run(process.execPath, [CLI, '--json', ...args], {
      env: { ...process.env, ...TEST_PLATFORM_ENV, MONGODB_DB: t.dbName, LOG_LEVEL: 'warn' },
      maxBuffer: 32 * 1024 * 1024,
      timeout: 120_000,
    });
    return stdout.trim() ? JSON.parse(stdout) : null;
  };

  it("exports the tenant's objects, erases them from the bucket, and restores them byte for byte", async () => {
    const a = await sdkTenant(t);
    const other = await sdkTenant(t);
    const upload = async (tenant: typeof a) => {
      const u = rid('f');
      const { [u]: c } = await tenant.users([u]);
      return uploadRawFile(c!, 1500);
    };
    const mine = await upload(a);
    const theirs = await upload(other);
    expect(await exists(mine.key)).toBe(true);

    const archive = join(dir, 'export-a');
    const manifest = await cli(['tenant', 'export', a.tenant.tenantId, archive]);
    expect(manifest.objects).toMatchObject({ count: 1, bytes: 1500, missing: 0 });
    const exported = join(archive, 'objects', bucket(), mine.key);
    expect(existsSync(exported)).toBe(true);
    expect(Buffer.compare(readFileSync(exported), mine.bytes)).toBe(0);

    const erased = await cli(['tenant', 'erase', a.tenant.tenantId, '--yes']);
    expect(erased.objects).toBe(1);
    expect(await exists(mine.key)).toBe(false);
    expect(await exists(theirs.key)).toBe(true); // another tenant's object is untouched

    const restored = await cli(['restore', archive]);
    expect(restored.objects).toBe(1);
    const back = await s3.send(new GetObjectCommand({ Bucket: bucket(), Key: mine.key }));
    expect(Buffer.compare(Buffer.from(await back.Body!.transformToByteArray()), mine.bytes)).toBe(0);
  });
});
