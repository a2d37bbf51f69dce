import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import request from 'supertest';
import { ErrorCode } from '@chat/errors';
import { adminLogin, api, asAdmin, asUser, createTenant, TestTenant, userToken } from './support/factories';
import { ask, closeAllSockets, connectSocket, envelope, TestSocket } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';

const CODES = new Set<string>(Object.values(ErrorCode));
const PROTO_KEYS = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', 'isPrototypeOf', '__defineGetter__', 'prototype'];

/** `{"a":{"a":...}}` n levels deep, as JSON text. */
const deepObject = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
/** `[[[...]]]` n levels deep, as JSON text. */
const deepArray = (n: number) => '['.repeat(n) + ']'.repeat(n);
/** A JSON value nested n levels deep (objects). */
const nested = (n: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
};

function expectErrorShape(res: request.Response, status?: number | number[], what = ''): void {
  const ctx = `${what}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
  if (Array.isArray(status)) expect([ctx, status.includes(res.status)]).toEqual([ctx, true]);
  else if (status !== undefined) expect([ctx, res.status]).toEqual([ctx, status]);
  expect([ctx, res.status >= 400 && res.status < 500]).toEqual([ctx, true]);
  expect([ctx, Object.keys(res.body ?? {})]).toEqual([ctx, ['error']]);
  expect(CODES.has(res.body.error.code)).toBe(true);
  expect(typeof res.body.error.message).toBe('string');
}

function expectErrorAck(res: any, code?: string, what = ''): void {
  const ctx = `${what}: ${JSON.stringify(res).slice(0, 300)}`;
  expect([ctx, 'error' in res]).toEqual([ctx, true]);
  expect([ctx, res.error.code === ErrorCode.Internal]).toEqual([ctx, false]);
  expect(CODES.has(res.error.code)).toBe(true);
  if (code) expect([ctx, res.error.code]).toEqual([ctx, code]);
}

describe('bad input: every answer is a 4xx in the error shape, never a 5xx', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let admin: string;
  let aliceToken: string;
  let conv: string;
  let msgId: string;
  let socket: TestSocket;

  beforeAll(async () => {
    t = await createTestApp({ env: { SOCKET_EVENTS_PER_SECOND: '100000', SOCKET_EVENTS_BURST: '100000' } });
    tenant = await createTenant(t);
    admin = await adminLogin(t);
    for (const u of ['alice', 'bob']) await api(t, tenant).put(`/v1/users/${u}`).send({ profile: { display_name: u } }).expect(201);
    aliceToken = await userToken(t, tenant, 'alice');
    const c = await asUser(t, aliceToken).post('/v1/conversations').send({ type: 'group', name: 'g', member_ids: ['bob'] }).expect(201);
    conv = c.body.id;
    const m = await asUser(t, aliceToken).post(`/v1/conversations/${conv}/messages`).send({ content: envelope(['alice', 'bob']) });
    expect(m.status).toBe(201);
    msgId = m.body.id;
    socket = await connectSocket(t.url, aliceToken);
  });
  afterAll(async () => {
    closeAllSockets();
    await t?.close();
  });

  /** Routes that take a body, with the credentials they need. */
  const routes = () => [
    { name: 'login', method: 'post' as const, path: '/admin/auth/login', auth: {} as Record<string, string> },
    { name: 'user upsert', method: 'put' as const, path: '/v1/users/carol', auth: { 'X-Api-Key': tenant.apiKey } },
    { name: 'user batch', method: 'post' as const, path: '/v1/users/batch', auth: { 'X-Api-Key': tenant.apiKey } },
    { name: 'send', method: 'post' as const, path: `/v1/conversations/${conv}/messages`, auth: { Authorization: `Bearer ${aliceToken}` } },
    { name: 'read', method: 'post' as const, path: `/v1/conversations/${conv}/read`, auth: { Authorization: `Bearer ${aliceToken}` } },
    { name: 'key-shares', method: 'post' as const, path: `/v1/conversations/${conv}/key-shares`, auth: { Authorization: `Bearer ${aliceToken}` } },
    { name: 'me', method: 'patch' as const, path: '/v1/me', auth: { Authorization: `Bearer ${aliceToken}` } },
    { name: 'tenant create', method: 'post' as const, path: '/admin/tenants', auth: { Authorization: `Bearer ${admin}` } },
    { name: 'application update', method: 'patch' as const, path: `/admin/applications/${tenant.applicationId}`, auth: { Authorization: `Bearer ${admin}` } },
  ];
  const send = (r: ReturnType<typeof routes>[number], body: string | Buffer, headers: Record<string, string> = { 'Content-Type': 'application/json' }) =>
    request(t.url)[r.method](r.path).set(r.auth).set(headers).send(body);

  it('deep nesting (objects 1,500-3,000 levels, arrays 100,000 levels) is a 400 on every route that takes a body', async () => {
    for (const r of routes()) {
      for (const body of [deepObject(1500), deepObject(3000), deepArray(100_000), JSON.stringify({ profile: { custom_data: nested(2000) } })]) {
        expectErrorShape(await send(r, body), [400, 413], `${r.name} deep ${body.length}`);
      }
    }
  });

  it('refuses prototype-named keys, nested or at the top level, like any unknown field', async () => {
    const user = asUser(t, aliceToken);
    for (const k of PROTO_KEYS) {
      const top = `{"seq":1,${JSON.stringify(k)}:"x"}`;
      expectErrorShape(await user.post(`/v1/conversations/${conv}/read`).set('Content-Type', 'application/json').send(top), 400, `read top ${k}`);
      const inner = `{"seq":{${JSON.stringify(k)}:"x"}}`;
      expectErrorShape(await user.post(`/v1/conversations/${conv}/read`).set('Content-Type', 'application/json').send(inner), 400, `read inner ${k}`);
      const free = `{"profile":{"custom_data":{"x":{${JSON.stringify(k)}:"x"}}}}`;
      expectErrorShape(await api(t, tenant).put('/v1/users/carol').set('Content-Type', 'application/json').send(free), 400, `custom_data ${k}`);
      const login = `{"email":"a@b.c","password":"p",${JSON.stringify(k)}:"x"}`;
      expectErrorShape(await request(t.url).post('/admin/auth/login').set('Content-Type', 'application/json').send(login), 400, `login ${k}`);
    }
  });

  it('answers undecodable gzip / deflate / br bodies with 400, unknown encodings with 415', async () => {
    for (const r of routes()) {
      for (const enc of ['gzip', 'deflate', 'br']) {
        expectErrorShape(await send(r, Buffer.from('definitely not compressed'), { 'Content-Type': 'application/json', 'Content-Encoding': enc }), 400, `${r.name} ${enc}`);
      }
      expectErrorShape(await send(r, Buffer.from('{}'), { 'Content-Type': 'application/json', 'Content-Encoding': 'zstd-ish' }), 415, `${r.name} unknown encoding`);
    }
  });

  it('answers bodies that are not JSON (text/plain, no content type, multipart, form) with 415', async () => {
    for (const r of routes()) {
      expectErrorShape(await send(r, '{"seq":1}', { 'Content-Type': 'text/plain' }), 415, `${r.name} text/plain`);
      expectErrorShape(await request(t.url)[r.method](r.path).set(r.auth).send(Buffer.from('{"seq":1}')).unset('Content-Type'), 415, `${r.name} no type`);
      expectErrorShape(await request(t.url)[r.method](r.path).set(r.auth).field('seq', '1'), 415, `${r.name} multipart`);
      expectErrorShape(await send(r, 'seq=1', { 'Content-Type': 'application/x-www-form-urlencoded' }), 415, `${r.name} form`);
    }
    // No body at all is still fine where the body is optional.
    const k = await asAdmin(t, admin).post(`/admin/applications/${tenant.applicationId}/api-keys`).send({ name: 'k2', scopes: ['*'] }).expect(201);
    await request(t.url).post(`/admin/api-keys/${k.body.id}/rotate`).set('Authorization', `Bearer ${admin}`).expect((res) => expect(res.status).toBeLessThan(300));
  });

  it('refuses $-prefixed and dotted keys, deep nesting and bulk in free-form objects (never a MongoDB error)', async () => {
    const bad: Array<[string, unknown]> = [
      ['$ key', { $where: 1 }],
      ['dotted key', { 'a.b': 1 }],
      ['nested $ key', { a: { $set: 1 } }],
      ['too deep', nested(30)],
      ['too big', { blob: 'x'.repeat(64 * 1024) }],
    ];
    for (const [what, v] of bad) {
      expectErrorShape(await api(t, tenant).put('/v1/users/carol').send({ profile: { custom_data: v } }), 400, `custom_data ${what}`);
      expectErrorShape(await api(t, tenant).put('/v1/users/carol').send({ settings: { notifications: v } }), 400, `settings ${what}`);
      expectErrorShape(await asAdmin(t, admin).post('/admin/tenants').send({ name: `t-${randomBytes(3).toString('hex')}`, metadata: v }), 400, `tenant metadata ${what}`);
      expectErrorShape(await asAdmin(t, admin).patch(`/admin/applications/${tenant.applicationId}`).send({ settings: v }), 400, `application settings ${what}`);
    }
    // Ordinary free-form data is still accepted.
    await api(t, tenant).put('/v1/users/carol').send({ profile: { custom_data: { plan: 'gold', tags: ['a', 'b'], nested: { ok: true } } } }).expect((res) => expect(res.status).toBeLessThan(300));
    await asAdmin(t, admin).patch(`/admin/applications/${tenant.applicationId}`).send({ settings: { theme: { color: 'blue' } } }).expect(200);
  });

  it('refuses arrays where an object is expected in a nested list (key shares, batch users)', async () => {
    const user = asUser(t, aliceToken);
    expectErrorShape(await user.post(`/v1/conversations/${conv}/key-shares`).send({ shares: [[]] }), 400, 'shares [[]]');
    expectErrorShape(await user.post(`/v1/conversations/${conv}/key-shares`).send({ shares: [[{ message_id: msgId }]] }), 400, 'shares [[{}]]');
    expectErrorShape(await api(t, tenant).post('/v1/users/batch').send({ users: [[]] }), 400, 'users [[]]');
    const env = envelope(['alice', 'bob']);
    expectErrorShape(await user.post(`/v1/conversations/${conv}/messages`).send({ content: { ...env, encrypted_key: [[]] } }), 400, 'encrypted_key [[]]');
    expectErrorAck(await ask(socket, 'sync', { conversations: [[]] }), ErrorCode.ValidationFailed, 'sync [[]]');
  });

  it('refuses loose values that used to be stored or coerced', async () => {
    const user = asUser(t, aliceToken);
    const env = envelope(['alice', 'bob']);
    const sends: Array<[string, unknown]> = [
      ['empty ephemeral key', { ...env, ephemeral_public_key: '' }],
      ['empty wrapped key', { ...env, encrypted_key: env.encrypted_key.map((k) => ({ ...k, wrapped_key: '' })) }],
      ['free-text device id', { ...env, sender_device_id: 'my phone\n' }],
    ];
    for (const [what, content] of sends) expectErrorShape(await user.post(`/v1/conversations/${conv}/messages`).send({ content }), 400, what);
    for (const seq of ['1e308', '9007199254740993']) {
      for (const path of ['read', 'delivered']) {
        expectErrorShape(await user.post(`/v1/conversations/${conv}/${path}`).set('Content-Type', 'application/json').send(`{"seq":${seq}}`), 400, `${path} seq ${seq}`);
      }
    }
    for (const grace of ['""', 'true', '"1"']) {
      expectErrorShape(await asAdmin(t, admin).post(`/admin/applications/${tenant.applicationId}/rotate-secret`).set('Content-Type', 'application/json').send(`{"grace_seconds":${grace}}`), 400, `grace ${grace}`);
    }
    for (const name of ['a\u0000b', 'a\r\nb', 'a\ud800b', 'a\udc00']) {
      expectErrorShape(await asAdmin(t, admin).post('/admin/tenants').send({ name }), 400, `tenant name ${JSON.stringify(name)}`);
      expectErrorShape(await asAdmin(t, admin).patch(`/admin/applications/${tenant.applicationId}`).send({ name }), 400, `application name ${JSON.stringify(name)}`);
      expectErrorShape(await api(t, tenant).put('/v1/users/carol').send({ profile: { display_name: name } }), 400, `display name ${JSON.stringify(name)}`);
      expectErrorShape(await user.post('/v1/conversations').send({ type: 'group', name }), 400, `conversation name ${JSON.stringify(name)}`);
      expectErrorShape(await asAdmin(t, admin).post(`/admin/tenants/${tenant.tenantId}/suspend`).send({ reason: name }), 400, `suspend reason ${JSON.stringify(name)}`);
    }
  });

  it('socket events: deep payloads, nested constructor keys and prototype-named keys get validation_failed', async () => {
    for (const ev of ['typing:start', 'message:send', 'sync', 'conversation:read', 'presence:query']) {
      for (const p of [nested(1500), nested(3000), { conversation_id: nested(2000) }]) expectErrorAck(await ask(socket, ev, p), ErrorCode.ValidationFailed, `${ev} deep`);
      expectErrorAck(await ask(socket, ev, { conversation_id: { constructor: 'x' } }), ErrorCode.ValidationFailed, `${ev} nested constructor`);
      for (const k of PROTO_KEYS) {
        expectErrorAck(await ask(socket, ev, JSON.parse(`{"conversation_id":"${conv}",${JSON.stringify(k)}:"x"}`)), ErrorCode.ValidationFailed, `${ev} top ${k}`);
      }
    }
    expect(await ask(socket, 'typing:stop', { conversation_id: conv })).toMatchObject({ ok: true });
  });

  it('keeps the unauthenticated login cheap: a 1 MB body is refused by size, a deep one by depth', async () => {
    const big = JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(1024 * 1024) });
    expectErrorShape(await request(t.url).post('/admin/auth/login').set('Content-Type', 'application/json').send(big), 413, 'login 1 MB');
    expectErrorShape(await request(t.url).post('/admin/auth/login').set('Content-Type', 'application/json').send(deepArray(20_000)), [400, 413], 'login deep');
    // Elsewhere a body is read only once the guards accepted the request: a missing or bogus
    // credential is refused (401) without parsing anything, whatever the body.
    const heavy = deepArray(500_000);
    for (const auth of [{}, { Authorization: 'Bearer bogus' }, { 'X-Api-Key': 'ck_bogus_bogus' }]) {
      expectErrorShape(await request(t.url).put('/v1/users/carol').set(auth).set('Content-Type', 'application/json').send(heavy), 401, `bad credentials ${JSON.stringify(auth)}`);
    }
    // An authenticated caller gets the ordinary limit, and the depth check.
    expectErrorShape(await api(t, tenant).put('/v1/users/carol').set('Content-Type', 'application/json').send(JSON.stringify({ profile: { display_name: 'x'.repeat(200_000) } })), 400, 'with credentials');
    expectErrorShape(await api(t, tenant).put('/v1/users/carol').set('Content-Type', 'application/json').send(heavy), 400, 'deep with credentials');
  });

  it('fuzz: generated hostile bodies on every route and payloads on every event never get a 5xx or internal_error', async () => {
    const hostile = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc.integer({ min: 50, max: 4000 }).map(deepObject),
      fc.integer({ min: 50, max: 50_000 }).map(deepArray),
      fc.tuple(fc.constantFrom(...PROTO_KEYS, '$set', 'a.b'), fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('seq', 'profile', 'content', 'shares', 'users', 'metadata', 'settings', 'name')).map(([k, v, f]) =>
        JSON.stringify({ [f]: JSON.parse(`{${JSON.stringify(k)}:${JSON.stringify(v ?? null)}}`) }).replace('"__proto__"', '"__proto__"'),
      ),
      fc.constantFrom('{"shares":[[]]}', '{"users":[[]]}', '{"seq":1e308}', '{"grace_seconds":"1"}', '{"a":', '', 'null', '[]', '"x"', '1'),
    );
    const routeArb = fc.constantFrom(...routes());
    await fc.assert(
      fc.asyncProperty(routeArb, hostile, async (r, body) => {
        const res = await send(r, body);
        expect([r.name, body.slice(0, 80), res.status < 500]).toEqual([r.name, body.slice(0, 80), true]);
        if (res.status >= 400) expectErrorShape(res, undefined, r.name);
      }),
      { numRuns: 120 },
    );
    const events = ['message:send', 'message:edit', 'typing:start', 'sync', 'conversation:read', 'presence:query', 'reaction:add'];
    const payload = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.integer({ min: 50, max: 3000 }).map(nested),
      fc.tuple(fc.constantFrom(...PROTO_KEYS), fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('conversation_id', 'content', 'conversations', 'user_ids')).map(([k, v, f]) => ({
        [f]: JSON.parse(`{${JSON.stringify(k)}:${JSON.stringify(v ?? null)}}`),
      })),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...events), payload, async (ev, p) => {
        const res = await ask(socket, ev, p, 5000);
        if ('error' in res) expectErrorAck(res, undefined, ev);
      }),
      { numRuns: 120 },
    );
    // Still serving.
    await request(t.url).get('/health').expect(200);
    expect(await ask(socket, 'typing:stop', { conversation_id: conv })).toMatchObject({ ok: true });
  });
});
