/* An end-user token is only as good as its user: a deactivated user (403 forbidden), a deleted user and
 * a user the tenant never had (401 unauthorized) are refused on every /v1 route (discovered from the
 * router, so a new endpoint cannot be forgotten), at the socket handshake and on every socket event;
 * their open sockets are cut at once. End-user tokens also have a maximum lifetime. */
import { createHash, randomBytes } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import request from 'supertest';
import { UserTokenService } from '@chat/auth';
import { CacheService } from '@chat/cache';
import { UsersRepository, UsersService } from '@chat/chat';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { fakeEnvelope } from './chat-messages-helpers';
import { api, asUser, createTenant, TestTenant, userToken } from './support/factories';
import { ask, askOk, closeAllSockets, connectError, connectSocket, disconnected, nextEvent } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';

const jwt = new JwtService({});
const now = () => Math.floor(Date.now() / 1000);
const b64 = (n: number) => randomBytes(n).toString('base64');
/** Wrapped keys for everyone who is or was a member (a send must cover every member). */
const EVERYONE = ['alice', 'bob', 'carol', 'dave', 'erin', 'fred', 'gail'];

function routesOf(t: TestApp): Array<{ method: string; path: string }> {
  const express = t.app.getHttpAdapter().getInstance() as { router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> } };
  const out: Array<{ method: string; path: string }> = [];
  for (const layer of express.router.stack) {
    if (!layer.route || !layer.route.path.startsWith('/v1/')) continue;
    for (const [m, on] of Object.entries(layer.route.methods)) if (on && ['get', 'post', 'put', 'patch', 'delete'].includes(m)) out.push({ method: m.toUpperCase(), path: layer.route.path });
  }
  return out;
}

/** The one error shape, with the given code. */
function isDenial(res: request.Response, status: number, code: string): boolean {
  const e = res.body?.error;
  return res.status === status && !!e && e.code === code && typeof e.message === 'string' && Object.keys(res.body).length === 1;
}

describe('deactivated, deleted and unknown users have no access', () => {
  let t: TestApp;
  /** A second node on the same database and Redis. */
  let t2: TestApp;
  let tn: TestTenant;
  let alice: string;
  let conversationId: string;
  let messageId: string;
  let fileId: string;
  /** Who must be refused, with the token each holds and the denial expected on an end-user route. */
  let denied: Array<{ who: string; token: string; status: number; code: string }>;

  beforeAll(async () => {
    t = await createTestApp();
    t2 = await createTestApp({ dbName: t.dbName });
    tn = await createTenant(t);
    for (const u of ['alice', 'bob', 'carol', 'dave', 'erin', 'fred']) await api(t, tn).put(`/v1/users/${u}`).send({ profile: { display_name: u } }).expect(201);
    alice = await userToken(t, tn, 'alice');
    const conv = await asUser(t, alice).post('/v1/conversations').send({ type: 'group', name: 'g', member_ids: ['bob', 'carol', 'dave', 'erin', 'fred'] }).expect(201);
    conversationId = conv.body.id;
    messageId = (await asUser(t, alice).post(`/v1/conversations/${conversationId}/messages`).send({ content: fakeEnvelope(EVERYONE) }).expect(201)).body.id;
    const data = randomBytes(10);
    const file = await asUser(t, alice)
      .post('/v1/files')
      .send({
        size: data.length,
        checksum: createHash('sha256').update(data).digest('hex'),
        content_md5: createHash('md5').update(data).digest('base64'),
        mime_type: 'application/octet-stream',
        sharing: { type: 'chat', conversation_id: conversationId },
      })
      .expect(201);
    fileId = file.body.file?.id ?? file.body.id;
    const carol = await userToken(t, tn, 'carol');
    const dave = await userToken(t, tn, 'dave');
    await api(t, tn).post('/v1/users/carol/deactivate').expect(200);
    await api(t, tn).delete('/v1/users/dave').expect(204);
    // Correctly signed with the application's secret, for a sub the tenant never had.
    const ghost = jwt.sign({ sub: 'ghost', tid: tn.tenantId, aid: tn.applicationId, iat: now(), exp: now() + 600 }, { secret: tn.appSecret, algorithm: 'HS256' });
    const ghostIssued = (await t.app.get(UserTokenService).issue({ tenantId: tn.tenantId, applicationId: tn.applicationId, userId: 'ghost2' })).token;
    denied = [
      { who: 'deactivated', token: carol, status: 403, code: 'forbidden' },
      { who: 'deleted', token: dave, status: 401, code: 'unauthorized' },
      { who: 'unknown (self-signed)', token: ghost, status: 401, code: 'unauthorized' },
      { who: 'unknown (issued)', token: ghostIssued, status: 401, code: 'unauthorized' },
    ];
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => {
    await t2?.close();
    await t?.close();
  });

  it('every /v1 route refuses them in the error shape (and lets the active user in where it takes end-user tokens)', async () => {
    const params: Record<string, string> = {
      id: conversationId,
      message_id: messageId,
      file_id: fileId,
      external_id: 'bob',
      user_id: 'bob',
      device_id: 'phone',
      emoji: 'thumbsup',
      version: '1',
      type: 'friend',
    };
    // Valid bodies where it matters most: a refusal must not be a validation error in disguise.
    const bodies: Record<string, unknown> = {
      'POST /v1/conversations/:id/messages': { content: fakeEnvelope(EVERYONE) },
      'POST /v1/conversations/:id/read': { seq: 1 },
      'POST /v1/conversations/:id/delivered': { seq: 1 },
      'PUT /v1/me/devices/:device_id/keys': { key_version: 1, public_key: b64(32) },
      'POST /v1/files': { size: 10, checksum: 'a'.repeat(64), content_md5: b64(16), mime_type: 'application/octet-stream', sharing: { type: 'chat', conversation_id: conversationId } },
    };
    const routes = routesOf(t);
    expect(routes.length).toBeGreaterThan(30);
    const problems: string[] = [];
    let userRoutes = 0;
    for (const r of routes) {
      const key = `${r.method} ${r.path}`;
      const url = r.path.replace(/:([A-Za-z_]+)/g, (_, name: string) => encodeURIComponent(params[name] ?? 'x'));
      const call = (token: string) => {
        const req = request(t.url)[r.method.toLowerCase() as 'get'](url).set('Authorization', `Bearer ${token}`);
        return ['POST', 'PUT', 'PATCH'].includes(r.method) ? req.send((bodies[key] as object) ?? {}) : req;
      };
      const results = [];
      for (const d of denied) results.push({ d, res: await call(d.token) });
      // Last, so nothing it changes affects the refusals above: does this route take end-user tokens at all?
      const takesUsers = (await call(alice)).status !== 401;
      if (takesUsers) userRoutes++;
      for (const { d, res } of results) {
        const [status, code] = takesUsers ? [d.status, d.code] : [401, 'unauthorized'];
        if (!isDenial(res, status, code)) problems.push(`${key} as ${d.who}: expected ${status} ${code}, got ${res.status} ${JSON.stringify(res.body).slice(0, 160)}`);
      }
    }
    expect(problems).toEqual([]);
    expect(userRoutes).toBeGreaterThan(30);
  });

  it('refuses their socket handshake with the error shape', async () => {
    for (const d of denied) {
      const err = await connectError(t.url, d.token);
      expect([d.who, err.data]).toEqual([d.who, { error: { code: d.code, message: expect.any(String) } }]);
    }
  });

  it('cuts an open socket at once, on this node and another, when its user is deactivated or deleted; other users stay connected', async () => {
    const bystander = await connectSocket(t2.url, alice);
    for (const [user, node, change, code] of [
      ['erin', t2, () => api(t, tn).post('/v1/users/erin/deactivate').expect(200), 'forbidden'],
      ['fred', t, () => api(t, tn).delete('/v1/users/fred').expect(204), 'unauthorized'],
    ] as const) {
      const s = await connectSocket(node.url, await userToken(t, tn, user));
      await askOk(s, 'typing:start', { conversation_id: conversationId });
      const revoked = nextEvent(s, 'session:revoked', () => true, 3000);
      const gone = disconnected(s, 3000);
      await change();
      expect(await revoked).toEqual({ error: { code, message: expect.any(String) } });
      await gone;
    }
    expect(bystander.connected).toBe(true);
    await askOk(bystander, 'typing:stop', { conversation_id: conversationId });
  });

  it('refuses every event of a socket whose user lost access, even when the cut never reached its node', async () => {
    await api(t, tn).put('/v1/users/gail').send({}).expect(201);
    await api(t, tn).post(`/v1/conversations/${conversationId}/members`).send({ user_ids: ['gail'] }).expect(200);
    const s = await connectSocket(t.url, await userToken(t, tn, 'gail'));
    // Deactivated behind the service's back: no event, only the database and the cache change.
    const tenantId = asTenantId(tn.tenantId);
    await TenantContext.run({ tenantId }, async () => {
      await t.app.get(UsersRepository).setDeactivated('gail', new Date());
      await t.app.get(CacheService).del(UsersService.cacheKey('gail'));
    });
    const send = await ask(s, 'message:send', { conversation_id: conversationId, content: fakeEnvelope(EVERYONE) });
    expect(send).toEqual({ error: { code: 'forbidden', message: expect.any(String) } });
    const sync = await ask(s, 'sync', { conversations: [{ conversation_id: conversationId, after_seq: 0 }] });
    expect(sync).toEqual({ error: { code: 'forbidden', message: expect.any(String) } });
  });
});

describe('end-user token lifetime', () => {
  let t: TestApp;
  let tn: TestTenant;
  beforeAll(async () => {
    t = await createTestApp({ env: { END_USER_TOKEN_MAX_LIFETIME_SECONDS: '7200' } });
    tn = await createTenant(t);
    await api(t, tn).put('/v1/users/alice').send({}).expect(201);
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => t?.close());

  const sign = (claims: Record<string, unknown>) => jwt.sign({ sub: 'alice', tid: tn.tenantId, aid: tn.applicationId, ...claims }, { secret: tn.appSecret, algorithm: 'HS256' });

  it('refuses a token living longer than END_USER_TOKEN_MAX_LIFETIME_SECONDS, or without exp, over HTTP and at the handshake', async () => {
    const refused: Record<string, string> = {
      '100 years': sign({ iat: now(), exp: now() + 100 * 365 * 86400 }),
      'no iat, 100 years': sign({ exp: now() + 100 * 365 * 86400 }),
      'one second too long': sign({ iat: now(), exp: now() + 7201 }),
      'issued long ago': sign({ iat: now() - 86400, exp: now() + 60 }),
      'iat in the future': sign({ iat: now() + 100 * 365 * 86400, exp: now() + 100 * 365 * 86400 + 60 }),
      'no exp': sign({ iat: now() }),
    };
    for (const [name, token] of Object.entries(refused)) {
      const res = await asUser(t, token).get('/v1/me');
      expect([name, res.status, res.body]).toEqual([name, 401, { error: { code: 'unauthorized', message: expect.any(String) } }]);
      expect([name, (await connectError(t.url, token)).data?.error?.code]).toEqual([name, 'unauthorized']);
    }
    const ok = sign({ iat: now(), exp: now() + 7200 });
    await asUser(t, ok).get('/v1/me').expect(200);
    (await connectSocket(t.url, ok)).close();
  });

  it('refuses to issue a token longer than the maximum', async () => {
    const res = await api(t, tn).post('/v1/users/alice/tokens').send({ ttl_seconds: 7201 }).expect(400);
    expect(res.body.error.code).toBe('validation_failed');
    await api(t, tn).post('/v1/users/alice/tokens').send({ ttl_seconds: 7200 }).expect(201);
  });
});
