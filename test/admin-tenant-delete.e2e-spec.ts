/* Deleting a tenant through the admin API: only a suspended tenant exported since its suspension, and
 * the delete erases its data (documents everywhere, file objects in the bucket) while another tenant
 * with look-alike data is untouched. Real FerretDB, Redis and s3rver. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import request from 'supertest';
import { unpackArchive, type BackupManifest, MANIFEST_FILE } from '@chat/backup';
import { rid, sdkTenant, SdkTenant, uploadRawFile } from './e2e-helpers';
import { adminLogin, api, asAdmin } from './support/factories';
import { objectExists as objectExistsIn, testS3Client } from './support/s3';
import { createTestApp, TestApp } from './support/test-app';

jest.setTimeout(120_000);

const s3 = testS3Client();
const objectExists = (key: string) => objectExistsIn(s3, key);

/** Collections a tenant delete keeps (tombstone, audit trail, invoices). */
const KEPT = new Set(['clients', 'audit_logs', 'billing']);

describe('admin API: tenant delete = export first, then erase everything', () => {
  let t: TestApp;
  let admin: ReturnType<typeof asAdmin>;
  const dir = mkdtempSync(join(tmpdir(), 'tenant-delete-'));
  beforeAll(async () => {
    t = await createTestApp({ env: { FILES_SWEEP_INTERVAL_SECONDS: '0' } });
    admin = asAdmin(t, await adminLogin(t));
  });
  afterAll(async () => {
    await t?.close();
    s3.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The same external ids in every tenant: alice and bob with devices, a direct conversation, a message and a file. */
  async function world(s: SdkTenant) {
    const { alice, bob } = await s.users(['alice', 'bob']);
    const aliceChat = await s.device('alice', alice!);
    const bobChat = await s.device('bob', bob!);
    const conv = await alice!.openDirect('bob');
    await aliceChat.sendText(conv.id, 'look-alike secret');
    const { key } = await uploadRawFile(alice!, 1200);
    return { conv, bobChat, key };
  }

  /** Documents of the tenant per collection of the test database (read-only check of what the API did). */
  async function counts(tenantId: string): Promise<Record<string, number>> {
    const db = t.app.get<Connection>(getConnectionToken()).db!;
    const out: Record<string, number> = {};
    for (const c of await db.listCollections({}, { nameOnly: true }).toArray()) {
      const n = await db.collection(c.name).countDocuments({ tenant_id: tenantId });
      if (n) out[c.name] = n;
    }
    return out;
  }

  const download = (id: string) =>
    admin
      .post(`/admin/tenants/${id}/export`)
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });

  it('refuses without an export taken since the suspension, then erases every document and object of the tenant only', async () => {
    const a = await sdkTenant(t);
    const b = await sdkTenant(t);
    const A = a.tenant.tenantId;
    const mine = await world(a);
    const theirs = await world(b);
    const before = await counts(A);
    for (const c of ['users', 'conversations', 'messages', 'files', 'device_keys', 'api_keys', 'applications']) expect(before[c]).toBeGreaterThan(0);
    expect(await objectExists(mine.key)).toBe(true);

    // Active: suspend first.
    const active = await admin.delete(`/admin/tenants/${A}`).expect(409);
    expect(active.body.error).toMatchObject({ code: 'conflict', details: { reason: 'not_suspended' } });

    // An export taken before the suspension does not count: data could have changed since.
    await download(A).expect(200);
    await admin.post(`/admin/tenants/${A}/suspend`).send({ reason: 'closing' }).expect(200);
    const stale = await admin.delete(`/admin/tenants/${A}`).expect(409);
    expect(stale.body.error).toMatchObject({ code: 'conflict', details: { reason: 'export_required' } });
    expect(stale.body.error.details.exported_at).not.toBeNull();

    // The export: a .tar.gz in the CLI's format, with the tenant's documents and file object.
    const exp = await download(A).expect(200);
    expect(exp.headers['content-type']).toBe('application/gzip');
    expect(exp.headers['content-disposition']).toMatch(new RegExp(`attachment; filename="tenant-${A}-.*\\.tar\\.gz"`));
    expect(Number(exp.headers['x-export-objects'])).toBe(1);
    const archive = join(dir, 'a.tar.gz');
    writeFileSync(archive, exp.body as Buffer);
    const unpacked = await unpackArchive(archive);
    try {
      const manifest = JSON.parse(readFileSync(join(unpacked.dir, MANIFEST_FILE), 'utf8')) as BackupManifest;
      expect(manifest).toMatchObject({ scope: 'tenant', tenant_id: A, objects: { count: 1, bytes: 1200, missing: 0 } });
      const exported = Object.fromEntries(manifest.databases.flatMap((d) => d.collections).map((c) => [c.name, c.count]));
      expect(exported).toMatchObject({ users: before.users, messages: before.messages, files: before.files, clients: 1 });
      expect(Number(exp.headers['x-export-documents'])).toBe(Object.values(exported).reduce((s, n) => s + n, 0));
    } finally {
      await unpacked.cleanup();
    }
    const shown = await admin.get(`/admin/tenants/${A}`).expect(200);
    expect(shown.body.exported_at).not.toBeNull();
    expect(shown.body.erased_at).toBeNull();

    const del = await admin.delete(`/admin/tenants/${A}`).expect(200);
    expect(del.body).toMatchObject({ id: A, status: 'deleted', metadata: {} });
    expect(del.body.erased_at).not.toBeNull();

    // Gone: every document of the tenant outside the kept collections, and its object in the bucket.
    const after = await counts(A);
    expect(Object.keys(after).filter((c) => !KEPT.has(c))).toEqual([]);
    expect(after.audit_logs).toBeGreaterThan(0); // the trail of what happened stays
    expect(await objectExists(mine.key)).toBe(false);
    await api(t, a.tenant).get('/v1/auth/whoami').expect(401);
    expect((await admin.get(`/admin/tenants/${A}`).expect(200)).body.status).toBe('deleted');
    await admin.delete(`/admin/tenants/${A}`).expect(404);
    await admin.post(`/admin/tenants/${A}/export`).expect(404);
    const audit = await admin.get(`/admin/audit-logs?tenant_id=${A}&action=tenant.delete`).expect(200);
    expect(audit.body.data.map((e: { success: boolean }) => e.success)).toEqual(expect.arrayContaining([true, false]));

    // The other tenant, with the same user ids, is intact: documents, object, history over HTTP.
    expect(await objectExists(theirs.key)).toBe(true);
    await api(t, b.tenant).get('/v1/auth/whoami').expect(200);
    await api(t, b.tenant).get('/v1/users/alice').expect(200);
    const history = await theirs.bobChat.decryptAll((await theirs.bobChat.client.history(theirs.conv.id)).data);
    expect(history.ok.map((m) => m.payload)).toEqual([expect.objectContaining({ kind: 'text', text: 'look-alike secret' })]);
  });

  it('exports and deletes only as an owner; a support admin is refused', async () => {
    const s = await sdkTenant(t);
    const owner = await adminLogin(t);
    const email = `${rid('support')}@test.local`;
    await asAdmin(t, owner).post('/admin/admins').send({ email, password: 'support-password-0123', role: 'support' }).expect(201);
    const support = asAdmin(t, await adminLogin(t, { email, password: 'support-password-0123' }));
    await support.post(`/admin/tenants/${s.tenant.tenantId}/export`).expect(403);
    await support.delete(`/admin/tenants/${s.tenant.tenantId}`).expect(403);
    await request(t.url).post(`/admin/tenants/${s.tenant.tenantId}/export`).expect(401);
  });
});
