import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { adminLogin, asAdmin, TEST_ADMIN } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

describe('admin auth: roles, lockout, audit', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Own Redis namespace and a trusted proxy: the lockout test's failures must not lock out other suites on 127.0.0.1.
    t = await createTestApp({ env: { REDIS_KEY_PREFIX: `adm${process.pid}:`, TRUST_PROXY: '1', ADMIN_LOGIN_MAX_FAILURES: '3' } });
  });
  afterAll(async () => t?.close());

  it('rate-limits failed logins per IP with 429 + Retry-After, and audits every attempt', async () => {
    const ip = '203.0.113.7';
    for (let i = 0; i < 3; i++) {
      await request(t.url).post('/admin/auth/login').set('X-Forwarded-For', ip).send({ email: `nobody${i}@x.io`, password: 'wrong-password!' }).expect(401);
    }
    const locked = await request(t.url).post('/admin/auth/login').set('X-Forwarded-For', ip).send(TEST_ADMIN).expect(429);
    expect(locked.body.error.code).toBe('rate_limited');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    // Another IP is not affected.
    await request(t.url).post('/admin/auth/login').set('X-Forwarded-For', '203.0.113.8').send(TEST_ADMIN).expect(200);

    const token = await adminLogin(t);
    const audit = await asAdmin(t, token).get('/admin/audit-logs?action=admin.login&success=false&limit=10').expect(200);
    const mine = audit.body.data.filter((e: { ip: string }) => e.ip === ip);
    expect(mine).toHaveLength(4);
    expect(mine[0]).toMatchObject({ success: false, severity: 'warning', details: { reason: 'rate_limited' } });
    expect(mine[3]).toMatchObject({ actor: { type: 'anonymous', email: 'nobody0@x.io' }, details: { reason: 'invalid_credentials' } });
    const ok = await asAdmin(t, token).get('/admin/audit-logs?action=admin.login&success=true').expect(200);
    expect(ok.body.data[0]).toMatchObject({ success: true, actor: { type: 'admin', email: TEST_ADMIN.email } });
  });

  it('support admins read but cannot write; the refusal is audited; disabling an admin ends their token at once', async () => {
    const owner = asAdmin(t, await adminLogin(t));
    const created = await owner.post('/admin/admins').send({ email: 'Support@Example.com', password: 'support-password-1', role: 'support' }).expect(201);
    expect(created.body).toMatchObject({ email: 'support@example.com', role: 'support' });
    expect(created.body).not.toHaveProperty('password_hash');
    await owner.post('/admin/admins').send({ email: 'support@example.com', password: 'support-password-1', role: 'support' }).expect(409);

    const supportToken = await adminLogin(t, { email: 'support@example.com', password: 'support-password-1' });
    const support = asAdmin(t, supportToken);
    await support.get('/admin/tenants').expect(200);
    const denied = await support.post('/admin/tenants').send({ name: 'nope' }).expect(403);
    expect(denied.body.error.code).toBe('forbidden');
    const audit = await owner.get(`/admin/audit-logs?action=auth.permission_denied&actor_id=${created.body.id}`).expect(200);
    expect(audit.body.data[0]).toMatchObject({ success: false, actor: { type: 'admin', id: created.body.id } });

    await owner.patch(`/admin/admins/${created.body.id}`).send({ status: 'disabled' }).expect(200);
    await support.get('/admin/tenants').expect(401);
    await request(t.url).post('/admin/auth/login').set('X-Forwarded-For', '198.51.100.1').send({ email: 'support@example.com', password: 'support-password-1' }).expect(401);
  });

  it('validates bodies in the error shape and treats unknown or malformed ids as 404', async () => {
    const owner = asAdmin(t, await adminLogin(t));
    const bad = await owner.post('/admin/admins').send({ email: 'x@y.z', password: 'short', role: 'root', extra: 1 }).expect(400);
    expect(bad.body.error.code).toBe('validation_failed');
    await owner.patch('/admin/admins/not-an-id').send({ role: 'support' }).expect(404);
    await owner.patch('/admin/admins/0123456789abcdef01234567').send({ role: 'support' }).expect(404);
    await owner.get('/admin/admins?limit=0').expect(400);
  });
});

describe('admin bootstrap without configured credentials (development)', () => {
  it('writes admin@localhost and a generated password to DATA_DIR/initial-admin.txt (0600) and persists the dev JWT secret', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'chat-admin-boot-'));
    const env = { DATA_DIR: dataDir, ADMIN_BOOTSTRAP_EMAIL: '', ADMIN_BOOTSTRAP_PASSWORD: '', ADMIN_JWT_SECRET: '', NODE_ENV: 'development' };
    const first = await createTestApp({ env });
    let token: string;
    try {
      const file = join(dataDir, 'initial-admin.txt');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const text = readFileSync(file, 'utf8');
      const email = /email: (\S+)/.exec(text)![1];
      const password = /password: (\S+)/.exec(text)![1];
      expect(email).toBe('admin@localhost');
      token = await adminLogin(first, { email, password });
      expect(statSync(join(dataDir, 'admin-jwt-secret')).mode & 0o777).toBe(0o600);
    } finally {
      await first.close();
    }
    // A restart on the same data keeps the admin (no second bootstrap) and accepts the old token.
    const second = await createTestApp({ env, dbName: first.dbName });
    try {
      await asAdmin(second, token).get('/admin/auth/me').expect(200);
      const admins = await asAdmin(second, token).get('/admin/admins').expect(200);
      expect(admins.body.data).toHaveLength(1);
    } finally {
      await second.close();
    }
  });
});
