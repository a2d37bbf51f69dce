import { createHmac, randomBytes } from 'node:crypto';
import { baselineToken } from '../protocol';
import type { RunningTarget } from '../servers/launch';
import { conversationsOf, type Plan } from './plan';

/** Ids and credentials of a plan on one server: by user index and by conversation index. */
export interface Provisioned {
  userIds: string[];
  tokens: string[];
  conversationIds: string[];
  /** The project's API key (header value) for the bench tenant. */
  apiKey?: string;
  /** `--e2e v2`: each plan sender's sealed envelope (by sender index). */
  senderContents?: object[];
}

/** 24-hex ids, so baseline payloads have exactly the shape (and size) of the project's ObjectIds. */
export function fakeObjectIds(n: number, prefix = randomBytes(4).toString('hex')): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i.toString(16).padStart(24 - prefix.length, '0')}`);
}

/** Subscribes a webhook endpoint at `url` to message.new for the bench tenant (the project+webhook target). */
export async function addWebhookEndpoint(base: string, apiKey: string, url: string): Promise<void> {
  must(await call(base, 'POST', '/v1/webhooks', { 'x-api-key': apiKey }, { url, events: ['message.new'] }), [201], 'create webhook endpoint');
}

/** The baselines check nothing: the token just names the user and its conversations. */
export function provisionBaseline(plan: Plan): Provisioned {
  const userIds = Array.from({ length: plan.users }, (_, i) => `u${i}`);
  const conversationIds = fakeObjectIds(plan.conversations.length);
  const convsOf = conversationsOf(plan);
  const tokens = userIds.map((u, i) => baselineToken(u, convsOf[i]!.map((c) => conversationIds[c]!)));
  return { userIds, tokens, conversationIds };
}

/** Runs fn over items with at most `limit` in flight. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

async function call(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; body: any }> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (err) {
    throw new Error(`${method} ${path}: ${(err as Error).message}`);
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* keep the text */
  }
  return { status: res.status, body: parsed };
}

function must(res: { status: number; body: any }, ok: number[], what: string): any {
  if (!ok.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 400)}`);
  return res.body?.data && !Array.isArray(res.body.data) && res.body.id === undefined ? res.body.data : res.body;
}

/** HS256 end-user token with the documented claims, used only if the API offers no token endpoint. */
function mintUserToken(secret: string, claims: { sub: string; tid: string; aid: string }, ttlSeconds: number): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64({ alg: 'HS256', typ: 'JWT', kid: 'v1' })}.${b64({ ...claims, iat: now, exp: now + ttlSeconds })}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/**
 * Creates the plan on the project through its public API: a tenant (enterprise plan, no quotas), an
 * application and an API key through the admin API; the users and their tokens with the API key;
 * the conversations as one of their members.
 */
export async function provisionProject(plan: Plan, target: RunningTarget, log: (l: string) => void, concurrency = 8): Promise<Provisioned> {
  const base = target.url;
  if (!target.admin) throw new Error('the project target has no bootstrap admin');
  const login = must(await call(base, 'POST', '/admin/auth/login', {}, target.admin), [200, 201], 'admin login');
  const admin = { authorization: `Bearer ${login.token}` };
  // High explicit limits: null would mean "the plan's default" (enterprise: 2,000 msgs/s), which capped
  // earlier runs and turned bursts into rate_limited errors.
  const unlimited = { users: 100_000_000, messages_per_second: 10_000_000, concurrent_connections: 10_000_000, storage_bytes: 1e15, api_requests_per_minute: 100_000_000 };
  const tenant = must(await call(base, 'POST', '/admin/tenants', admin, { name: `bench-${Date.now()}`, plan: 'enterprise', quotas: unlimited }), [201], 'create tenant');
  const app = must(await call(base, 'POST', `/admin/tenants/${tenant.id}/applications`, admin, { name: 'bench' }), [201], 'create application');
  const key = must(await call(base, 'POST', `/admin/applications/${app.id}/api-keys`, admin, { name: 'bench', scopes: ['*'] }), [201], 'create API key');
  const apiKey = { 'x-api-key': key.key as string };

  const userIds = Array.from({ length: plan.users }, (_, i) => `u${i}`);
  const t0 = Date.now();
  // Batches of 1000 (the most the API takes) through POST /v1/users/batch; one PUT per user if the API has no batch route.
  const chunks: string[][] = [];
  for (let i = 0; i < userIds.length; i += 1000) chunks.push(userIds.slice(i, i + 1000));
  let batched = true;
  for (const chunk of chunks) {
    if (batched) {
      const res = await call(base, 'POST', '/v1/users/batch', apiKey, { users: chunk.map((u) => ({ external_id: u, profile: { display_name: u } })) });
      if (res.status !== 404) {
        must(res, [200, 201], 'create users');
        continue;
      }
      batched = false;
    }
    await mapLimit(chunk, concurrency, async (u) => {
      must(await call(base, 'PUT', `/v1/users/${u}`, apiKey, { profile: { display_name: u } }), [200, 201], `create user ${u}`);
    });
  }
  // One token through POST /v1/users/:id/tokens (checks the route and the claims the server issues);
  // the rest are signed here with the application secret, as a client's backend may do
  // (docs/multi-tenancy.md): one request per user would only measure the set-up.
  const first = await call(base, 'POST', `/v1/users/${userIds[0]}/tokens`, apiKey, { ttl_seconds: 3600 });
  if (first.status === 404) log('no POST /v1/users/:id/tokens: end-user tokens minted with the application secret');
  const issued = first.status === 404 ? null : (must(first, [200, 201], `token for ${userIds[0]}`).token as string);
  const tokens = userIds.map((u, i) => (i === 0 && issued ? issued : mintUserToken(app.secret as string, { sub: u, tid: tenant.id, aid: app.id }, 3600)));
  log(`project: ${plan.users} users and tokens ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; creating ${plan.conversations.length} conversations`);
  const conversationIds = await mapLimit(plan.conversations, concurrency, async (c, i) => {
    const owner = { authorization: `Bearer ${tokens[c.members[0]!]}` };
    const res =
      c.type === 'direct'
        ? await call(base, 'POST', '/v1/conversations/direct', owner, { user_id: userIds[c.members[1]!] })
        : await call(base, 'POST', '/v1/conversations', owner, { type: 'group', member_ids: c.members.slice(1).map((m) => userIds[m]), name: `bench group ${i}` });
    return must(res, [200, 201], `create ${c.type} conversation ${i}`).id as string;
  });
  log(`project provisioned: tenant ${tenant.id}, ${plan.users} users, ${conversationIds.length} conversations in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { userIds, tokens, conversationIds, apiKey: key.key as string };
}
