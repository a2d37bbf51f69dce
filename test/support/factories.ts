/* Helpers every e2e test uses to get a fresh tenant and credentials through the public HTTP API.
 * Signatures are stable: other suites build on them. */
import request from 'supertest';
import type { Test } from 'supertest';
import type { TestApp } from './test-app';

/** The platform admin every test app bootstraps (createTestApp passes TEST_PLATFORM_ENV). */
export const TEST_ADMIN = { email: 'admin@test.local', password: 'test-admin-password-0123' } as const;

/** Env defaults for test apps: a known bootstrap admin and fixed secrets (nothing written under DATA_DIR). */
export const TEST_PLATFORM_ENV: Record<string, string> = {
  ADMIN_BOOTSTRAP_EMAIL: TEST_ADMIN.email,
  ADMIN_BOOTSTRAP_PASSWORD: TEST_ADMIN.password,
  ADMIN_JWT_SECRET: 'test-admin-jwt-secret-0123456789abcdef',
  APP_SECRET_ENCRYPTION_KEY: '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff',
};

export interface TestTenant {
  tenantId: string;
  name: string;
  applicationId: string;
  /** The application's token-signing secret (HS256), as shown once at creation. */
  appSecret: string;
  /** Clear-text API key with every scope (`*`). */
  apiKey: string;
  apiKeyId: string;
  /** An owner admin bearer token for this test app. */
  adminToken: string;
}

export interface CreateTenantOptions {
  name?: string;
  /** Default `enterprise`, so ordinary tests never trip a quota. */
  plan?: 'free' | 'pro' | 'enterprise';
  quotas?: Partial<Record<'users' | 'messages_per_second' | 'concurrent_connections' | 'storage_bytes' | 'api_requests_per_minute', number>>;
  region?: string;
  /** Scopes of the API key; default `['*']`. */
  scopes?: string[];
}

const adminTokens = new WeakMap<TestApp, Promise<string>>();

/** Admin bearer token (logs in once per test app and remembers it). */
export function adminLogin(t: TestApp, creds: { email: string; password: string } = TEST_ADMIN): Promise<string> {
  const useCache = creds === TEST_ADMIN;
  const cached = useCache ? adminTokens.get(t) : undefined;
  if (cached) return cached;
  const p = request(t.url)
    .post('/admin/auth/login')
    .send(creds)
    .then((res) => {
      if (res.status !== 200) throw new Error(`admin login failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.token as string;
    });
  if (useCache) {
    adminTokens.set(t, p);
    p.catch(() => adminTokens.delete(t));
  }
  return p;
}

function expectStatus(res: request.Response, status: number, what: string): void {
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
}

/** A fresh tenant with one application and one API key, all created through the admin API. */
export async function createTenant(t: TestApp, opts: CreateTenantOptions = {}): Promise<TestTenant> {
  const adminToken = await adminLogin(t);
  const auth = { Authorization: `Bearer ${adminToken}` };
  const name = opts.name ?? `tenant-${Math.random().toString(36).slice(2, 10)}`;
  const tenant = await request(t.url)
    .post('/admin/tenants')
    .set(auth)
    .send({ name, plan: opts.plan ?? 'enterprise', ...(opts.quotas ? { quotas: opts.quotas } : {}), ...(opts.region ? { region: opts.region } : {}) });
  expectStatus(tenant, 201, 'create tenant');
  const app = await request(t.url).post(`/admin/tenants/${tenant.body.id}/applications`).set(auth).send({ name: `${name}-app` });
  expectStatus(app, 201, 'create application');
  const key = await request(t.url)
    .post(`/admin/applications/${app.body.id}/api-keys`)
    .set(auth)
    .send({ name: 'test', scopes: opts.scopes ?? ['*'] });
  expectStatus(key, 201, 'create API key');
  return { tenantId: tenant.body.id, name, applicationId: app.body.id, appSecret: app.body.secret, apiKey: key.body.key, apiKeyId: key.body.id, adminToken };
}

/**
 * An end-user JWT for `externalId` through `POST /v1/users/{external_id}/tokens`. A token is only good
 * for an existing, active user, so a user that does not exist yet is created first (`PUT`).
 */
export async function userToken(t: TestApp, tenant: TestTenant, externalId: string, opts: { ttlSeconds?: number } = {}): Promise<string> {
  const path = `/v1/users/${encodeURIComponent(externalId)}`;
  const issue = () => request(t.url).post(`${path}/tokens`).set('X-Api-Key', tenant.apiKey).send(opts.ttlSeconds ? { ttl_seconds: opts.ttlSeconds } : {});
  let res = await issue();
  if (res.status === 404) {
    const created = await request(t.url).put(path).set('X-Api-Key', tenant.apiKey).send({});
    if (created.status !== 201 && created.status !== 200) throw new Error(`creating user ${externalId}: ${created.status} ${JSON.stringify(created.body)}`);
    res = await issue();
  }
  if (res.status === 200 || res.status === 201) return res.body.token as string;
  throw new Error(`user token: ${res.status} ${JSON.stringify(res.body)}`);
}

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type Client = Record<Method, (path: string) => Test>;

function client(t: TestApp, headers: Record<string, string>): Client {
  const make = (m: Method) => (path: string) => request(t.url)[m](path).set(headers);
  return { get: make('get'), post: make('post'), put: make('put'), patch: make('patch'), delete: make('delete') };
}

/** supertest with the tenant's `X-Api-Key` (or the given key) set. */
export function api(t: TestApp, tenant: TestTenant | string): Client {
  return client(t, { 'X-Api-Key': typeof tenant === 'string' ? tenant : tenant.apiKey });
}

/** supertest as an end user (`Authorization: Bearer <jwt>`). */
export function asUser(t: TestApp, token: string): Client {
  return client(t, { Authorization: `Bearer ${token}` });
}

/** supertest as a platform admin. */
export function asAdmin(t: TestApp, token: string): Client {
  return client(t, { Authorization: `Bearer ${token}` });
}
