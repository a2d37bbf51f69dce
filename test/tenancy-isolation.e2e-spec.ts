/* Isolation over HTTP. Two tenants with the same external user ids and look-alike data. Every route of
 * every app (discovered from the router, so a new endpoint cannot be forgotten) is called with tenant
 * B's credentials (its API key with every scope, and an end-user token of B's "alice") on tenant A's
 * resources. A route addressing A's resources by id must answer 403/404; no answer may carry A's data;
 * A's data must be unchanged afterwards. To cover a new route: give it a body in BODIES if it needs one,
 * or list it in NOT_TENANT_ROUTES with the reason. */
import { createHash, randomBytes } from 'node:crypto';
import request from 'supertest';
import { fakeEnvelope } from './chat-messages-helpers';
import { api, asUser, createTenant, TestTenant, userToken } from './support/factories';
import { ClientEvents } from '../apps/gateway/src/events/client-events';
import { ask, connectSocket, drained, TestSocket } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';

interface World {
  tenant: TestTenant;
  /** end-user token of "alice" */
  alice: string;
  bob: string;
  conversationId: string;
  directId: string;
  messageId: string;
  /** bob's report of alice's message (moderation queue). */
  reportId: string;
  fileId: string;
  marker: string;
}

const b64 = (n: number) => randomBytes(n).toString('base64');

/** Routes that do not address tenant data; anything else must be covered by the loop below. */
const NOT_TENANT_ROUTES: Record<string, string> = {
  'GET /health': 'liveness, no tenant data',
  'GET /health/ready': 'readiness, no tenant data',
  'GET /metrics': 'Prometheus metrics, no tenant data',
  'POST /admin/auth/login': 'admin login: a tenant credential is not an admin credential (checked in admin-auth tests)',
};

/** Valid request bodies, so that a refusal is about the tenant and not about validation. Key: "METHOD /path". */
function bodies(w: World): Record<string, unknown> {
  const deviceKey = { key_version: 1, public_key: b64(32) };
  const wrapped = { ephemeral_public_key: b64(32), encrypted_key: [{ user_id: 'alice', device_id: 'd1', key_version: 1, wrapped_key: b64(48) }] };
  return {
    'POST /v1/conversations/:id/messages': { content: fakeEnvelope(['alice', 'bob']) },
    'PATCH /v1/conversations/:id/messages/:message_id': { content: fakeEnvelope(['alice', 'bob']) },
    'POST /v1/conversations/:id/messages/search': { tokens: ['abcdefgh'] },
    'POST /v1/conversations/:id/read': { seq: 1 },
    'POST /v1/conversations/:id/delivered': { seq: 1 },
    'PATCH /v1/conversations/:id': { name: 'renamed by B' },
    'POST /v1/conversations/:id/members': { user_ids: ['carol'] },
    'PUT /v1/conversations/:id/members/:user_id/role': { role: 'admin' },
    'PATCH /v1/conversations/:id/settings': { muted: true },
    'POST /v1/conversations/:id/conversation-keys': { ...wrapped, key_version: 9, key_check: '0'.repeat(32) },
    'POST /v1/conversations/:id/conversation-keys/:version/shares': wrapped,
    'POST /v1/conversations/:id/key-shares': { shares: [{ ...wrapped, message_id: w.messageId }] },
    'POST /v1/conversations': { type: 'group', name: 'B group', member_ids: ['bob'] },
    'POST /v1/conversations/direct': { user_id: 'bob' },
    'POST /v1/users/:external_id/conversations': { type: 'group', name: 'B group', member_ids: ['bob'] },
    'POST /v1/users/:external_id/conversations/direct': { user_id: 'bob' },
    'PUT /v1/users/:external_id': { profile: { display_name: 'B user' } },
    'PATCH /v1/users/:external_id': { profile: { display_name: 'B user' } },
    'POST /v1/users/batch': { users: [{ external_id: 'alice', profile: { display_name: 'B alice' } }] },
    'POST /v1/users/:external_id/tokens': {},
    'PATCH /v1/me': { profile: { display_name: 'B alice' } },
    'PUT /v1/me/relationships/:user_id': { type: 'friend' },
    'PUT /v1/me/devices/:device_id/keys': deviceKey,
    'POST /v1/files': { size: 10, checksum: 'a'.repeat(64), content_md5: b64(16), mime_type: 'application/octet-stream', sharing: { type: 'chat', conversation_id: w.conversationId } },
    'PUT /v1/files/:file_id/message': { message_id: w.messageId, conversation_id: w.conversationId },
    'POST /v1/conversations/:id/mls/commits': { device_id: 'd1', commit: b64(64), group_info: b64(64) },
    'POST /v1/conversations/:id/mls/messages': { device_id: 'd1', message: b64(64) },
    'PUT /v1/conversations/:id/mls/history': { history_visibility: 'shared' },
    'POST /v1/conversations/:id/mls/history/bundles': { device_id: 'd1', group_id: 'ab', epoch: 1, ciphertext: b64(64) },
    'PUT /v1/me/key-backup': { backup_id: '0'.repeat(32), wraps: [{ kind: 'recovery_key', salt: b64(16), wrapped_key: b64(72) }] },
    'POST /v1/me/key-backup/entries': { backup_id: '0'.repeat(32), entries: [{ group_id: 'ab', epoch: 1, ciphertext: b64(72) }] },
    'POST /v1/webhooks/:id/replay': { since: new Date(0).toISOString() },
    'POST /v1/conversations/:id/messages/:message_id/reports': { payload: 'B reports A', reason: 'spam' },
    'POST /v1/moderation/reports/:report_id/act': { actions: ['delete_message'] },
    'POST /v1/moderation/reports/:report_id/resolve': { note: 'B resolves' },
    'POST /v1/conversations/:id/system-messages': { text: 'B posts into A' },
  };
}

/**
 * Path parameters: A's resource ids. `carol` exists only in A (B's key may create its own carol, which
 * is fine: it is B's); `bob` exists in both.
 */
function params(w: World): Record<string, string> {
  return {
    id: w.conversationId,
    message_id: w.messageId,
    file_id: w.fileId,
    report_id: w.reportId,
    external_id: 'carol',
    user_id: 'bob',
    device_id: 'dev-a',
    emoji: 'thumbsup',
    version: '1',
    type: 'friend',
  };
}

/** Parameters naming A's own objects: routes using one of them must refuse B outright. */
const A_OWNED_PARAMS = ['id', 'message_id', 'file_id', 'report_id'];

function routesOf(t: TestApp): Array<{ method: string; path: string }> {
  const express = t.app.getHttpAdapter().getInstance() as { router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> } };
  const out: Array<{ method: string; path: string }> = [];
  for (const layer of express.router.stack) {
    if (!layer.route) continue;
    for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') out.push({ method: m.toUpperCase(), path: layer.route.path });
  }
  return out;
}

describe('tenant isolation over HTTP (every route, tenant B on tenant A)', () => {
  let t: TestApp;
  let A: World;
  let B: World;

  async function world(name: string): Promise<World> {
    const tenant = await createTenant(t, { name });
    const marker = `${name}-${randomBytes(6).toString('hex')}`;
    for (const u of name === 'tenantA' ? ['alice', 'bob', 'carol'] : ['alice', 'bob']) {
      await api(t, tenant).put(`/v1/users/${u}`).send({ profile: { display_name: `${marker} ${u}` } }).expect(201);
    }
    const alice = await userToken(t, tenant, 'alice');
    const bob = await userToken(t, tenant, 'bob');
    for (const [tok, dev] of [[alice, 'dev-a'], [bob, 'dev-b']] as const) {
      await asUser(t, tok).put(`/v1/me/devices/${dev}/keys`).send({ key_version: 1, public_key: b64(32) }).expect((r) => expect(r.status).toBeLessThan(300));
    }
    const conv = await asUser(t, alice).post('/v1/conversations').send({ type: 'group', name: `${marker} group`, member_ids: ['bob'] }).expect(201);
    const direct = await asUser(t, alice).post('/v1/conversations/direct').send({ user_id: 'bob' }).expect((r) => expect(r.status).toBeLessThan(300));
    const content = fakeEnvelope(['alice', 'bob']);
    content.encrypted_key = [
      { user_id: 'alice', device_id: 'dev-a', key_version: 1, wrapped_key: b64(72) },
      { user_id: 'bob', device_id: 'dev-b', key_version: 1, wrapped_key: b64(72) },
    ];
    content.sender_device_id = 'dev-a';
    const msg = await asUser(t, alice).post(`/v1/conversations/${conv.body.id}/messages`).send({ content }).expect(201);
    // No franking commitment on this envelope: the report is stored as unverifiable.
    const report = await asUser(t, bob).post(`/v1/conversations/${conv.body.id}/messages/${msg.body.id}/reports`).send({ payload: `${marker} report`, reason: 'spam' }).expect(201);
    const data = randomBytes(10);
    const file = await asUser(t, alice)
      .post('/v1/files')
      .send({
        size: data.length,
        checksum: createHash('sha256').update(data).digest('hex'),
        content_md5: createHash('md5').update(data).digest('base64'),
        mime_type: 'application/octet-stream',
        sharing: { type: 'chat', conversation_id: conv.body.id },
      })
      .expect(201);
    return {
      tenant,
      alice,
      bob,
      conversationId: conv.body.id,
      directId: direct.body.id,
      messageId: msg.body.id ?? msg.body.message?.id,
      reportId: report.body.id,
      fileId: file.body.file?.id ?? file.body.id ?? file.body.file_id,
      marker,
    };
  }

  /** What A itself sees of its own data (compared before and after B's attempts). */
  async function snapshotA(): Promise<string> {
    const key = api(t, A.tenant);
    const user = asUser(t, A.alice);
    const parts = await Promise.all([
      key.get('/v1/users/alice'),
      key.get('/v1/users/bob'),
      key.get('/v1/users/carol'),
      user.get(`/v1/conversations/${A.conversationId}`),
      user.get(`/v1/conversations/${A.conversationId}/messages`),
      user.get(`/v1/files/${A.fileId}`),
      user.get('/v1/me/devices'),
      key.get(`/v1/moderation/reports/${A.reportId}`),
    ]);
    // Presence-like fields move on their own; everything else must be identical.
    return JSON.stringify(parts.map((r) => [r.status, r.body]), (k, v) => (['last_seen', 'online', 'updated_at', 'download_url', 'expires_at', 'url'].includes(k) ? undefined : v));
  }

  beforeAll(async () => {
    t = await createTestApp();
    A = await world('tenantA');
    B = await world('tenantB');
  });
  afterAll(async () => t?.close());

  it('set-up created look-alike data in both tenants', () => {
    for (const w of [A, B]) for (const v of [w.conversationId, w.messageId, w.fileId, w.reportId]) expect(v).toMatch(/^[0-9a-f]{24}$/);
  });

  it('every route refuses or stays inside tenant B', async () => {
    const before = await snapshotA();
    const secrets = [A.marker, A.conversationId, A.directId, A.messageId, A.fileId, A.reportId, A.tenant.tenantId, A.tenant.applicationId, A.tenant.apiKeyId];
    const body = bodies(A);
    const p = params(A);
    const problems: string[] = [];
    const routes = routesOf(t);
    expect(routes.length).toBeGreaterThan(20);
    for (const r of routes) {
      const key = `${r.method} ${r.path}`;
      // Catch-all and CONNECT/OPTIONS handlers are not endpoints.
      if (NOT_TENANT_ROUTES[key] || r.path.startsWith('/docs') || r.path.includes('{*') || !['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method)) continue;
      const url = r.path.replace(/:([A-Za-z_]+)/g, (_, name: string) => encodeURIComponent(p[name] ?? 'unknown'));
      const ownsA = A_OWNED_PARAMS.some((n) => r.path.includes(`:${n}`));
      const statuses: number[] = [];
      for (const [kind, headers] of [
        ['api key', { 'X-Api-Key': B.tenant.apiKey }],
        ['user token', { Authorization: `Bearer ${B.alice}` }],
      ] as const) {
        let req = request(t.url)[r.method.toLowerCase() as 'get'](url).set(headers);
        if (['POST', 'PUT', 'PATCH'].includes(r.method)) req = req.send((body[key] as object) ?? {});
        let res: request.Response;
        try {
          res = await req;
        } catch (err) {
          problems.push(`${key} (${kind}): request failed: ${(err as Error).message}`);
          continue;
        }
        statuses.push(res.status);
        const text = JSON.stringify(res.body ?? '') + (res.text ?? '');
        const leaked = secrets.filter((s) => text.includes(s));
        if (leaked.length) problems.push(`${key} (${kind}): ${res.status} leaks ${leaked.join(', ')}`);
        if (res.status >= 500) problems.push(`${key} (${kind}): ${res.status}`);
        if (ownsA && res.status !== 401 && ![403, 404].includes(res.status)) problems.push(`${key} (${kind}): expected 403/404 on A's resource, got ${res.status} ${text.slice(0, 200)}`);
      }
      if (process.env.ISOLATION_DEBUG) process.stdout.write(`${key}: ${statuses.join('/')}\n`);
      // Admin routes answer 401 to tenant credentials; every other route must let one of B's credentials in.
      if (r.path.startsWith('/admin')) {
        if (statuses.some((s) => s !== 401)) problems.push(`${key}: tenant credentials got ${statuses.join('/')} on an admin route`);
      } else if (statuses.every((s) => s === 401)) {
        problems.push(`${key}: neither credential authenticated (${statuses.join('/')}), so the route was not really tried`);
      }
    }
    expect(problems).toEqual([]);
    expect(await snapshotA()).toBe(before);
  });

  it('every socket event refuses A\'s conversations and messages, and A hears nothing of it', async () => {
    const eventNames = [...(t.app.get(ClientEvents) as unknown as { specs: Map<string, unknown> }).specs.keys()];
    expect(eventNames.length).toBeGreaterThan(5);
    const payloads: Record<string, unknown> = {
      'message:send': { conversation_id: A.conversationId, content: fakeEnvelope(['alice', 'bob']), client_msg_id: 'iso-1' },
      'message:edit': { conversation_id: A.conversationId, message_id: A.messageId, content: fakeEnvelope(['alice', 'bob']) },
      'message:delete': { conversation_id: A.conversationId, message_id: A.messageId },
      'reaction:add': { conversation_id: A.conversationId, message_id: A.messageId, emoji: 'thumbsup' },
      'reaction:remove': { conversation_id: A.conversationId, message_id: A.messageId, emoji: 'thumbsup' },
      'typing:start': { conversation_id: A.conversationId },
      'typing:stop': { conversation_id: A.conversationId },
      'conversation:read': { conversation_id: A.conversationId, seq: 1 },
      'conversation:delivered': { conversation_id: A.conversationId, seq: 1 },
      sync: { conversations: [{ conversation_id: A.conversationId, after_seq: 0 }] },
      // Names shared by both tenants: B learns about its own alice and bob only.
      'presence:query': { user_ids: ['alice', 'bob', 'carol'] },
    };
    const secrets = [A.marker, A.messageId, A.tenant.tenantId];
    const before = await snapshotA();
    const listenerA: TestSocket = await connectSocket(t.url, A.bob);
    const intruder: TestSocket = await connectSocket(t.url, B.alice);
    const problems: string[] = [];
    try {
      for (const name of eventNames) {
        if (!(name in payloads)) {
          problems.push(`${name}: no payload in the isolation table`);
          continue;
        }
        const ack = (await ask(intruder, name, payloads[name])) as { ok?: boolean; data?: unknown; error?: { code: string } };
        const text = JSON.stringify(ack);
        if (process.env.ISOLATION_DEBUG) process.stdout.write(`socket ${name}: ${text.slice(0, 160)}\n`);
        const leaked = secrets.filter((x) => text.includes(x));
        if (leaked.length) problems.push(`${name}: ack leaks ${leaked.join(', ')}`);
        const pointsAtA = JSON.stringify(payloads[name]).includes(A.conversationId);
        // sync answers per conversation; every other event refuses as a whole.
        const code = name === 'sync' ? (ack.data as { conversations?: Array<{ error?: { code: string } }> })?.conversations?.[0]?.error?.code : ack.error?.code;
        if (pointsAtA && !['not_found', 'forbidden'].includes(code ?? '')) problems.push(`${name}: expected not_found/forbidden, got ${text.slice(0, 200)}`);
      }
      // Whatever the server sent either socket while handling those events has arrived.
      await Promise.all([drained(listenerA), drained(intruder)]);
      const heardByA = JSON.stringify([...listenerA.received.entries()].filter(([e]) => e !== 'session:ready' && !e.startsWith('presence')));
      if (heardByA.includes(B.tenant.tenantId) || /typing|message:|reaction:/.test(heardByA)) problems.push(`A's socket received: ${heardByA.slice(0, 300)}`);
      const heardByB = JSON.stringify([...intruder.received.entries()]);
      const leaked = secrets.filter((x) => heardByB.includes(x));
      if (leaked.length) problems.push(`B's socket received A data: ${leaked.join(', ')}`);
    } finally {
      listenerA.close();
      intruder.close();
    }
    expect(problems).toEqual([]);
    expect(await snapshotA()).toBe(before);
  });

  it("B's ids used by A are refused the same way (the check is symmetric)", async () => {
    const user = asUser(t, A.alice);
    const a404 = await user.get(`/v1/conversations/${B.conversationId}`);
    const missing = await user.get('/v1/conversations/0123456789abcdef01234567');
    expect([a404.status, a404.body]).toEqual([missing.status, missing.body]);
    expect(a404.status).toBe(404);
    const f404 = await user.get(`/v1/files/${B.fileId}`);
    const fmissing = await user.get('/v1/files/0123456789abcdef01234567');
    expect([f404.status, f404.body]).toEqual([fmissing.status, fmissing.body]);
    // The same with A's API key (which may read any conversation or file of its own tenant).
    const key = api(t, A.tenant);
    for (const path of ['/v1/conversations/', '/v1/files/', '/v1/files/:id/download']) {
      const [other, never] = await Promise.all(
        [path === '/v1/conversations/' ? B.conversationId : B.fileId, 'fedcba9876543210fedcba98'].map((id) => key.get(path.includes(':id') ? path.replace(':id', id) : path + id)),
      );
      expect([other.status, other.body]).toEqual([never.status, never.body]);
      expect(other.status).toBe(404);
    }
  });

  it('ids of new conversations and files are not sequential across tenants, yet still sort by creation time', async () => {
    const startSec = Math.floor(Date.now() / 1000);
    const data = randomBytes(10);
    const ids: Record<'conversation' | 'file', string[]> = { conversation: [], file: [] };
    // Created in a row, alternating tenants: with default ObjectIds these would differ by 1 in the counter.
    for (const w of [A, B, A, B]) {
      const conv = await asUser(t, w.alice).post('/v1/conversations').send({ type: 'group', name: 'probe', member_ids: ['bob'] }).expect(201);
      ids.conversation.push(conv.body.id);
      const file = await asUser(t, w.alice)
        .post('/v1/files')
        .send({ size: data.length, checksum: createHash('sha256').update(data).digest('hex'), content_md5: createHash('md5').update(data).digest('base64'), mime_type: 'application/octet-stream', sharing: { type: 'private' } })
        .expect(201);
      ids.file.push(file.body.file.id);
    }
    const all = [ids.conversation, ids.file];
    for (const list of all) {
      for (let i = 1; i < list.length; i++) {
        const [prev, next] = [Buffer.from(list[i - 1], 'hex'), Buffer.from(list[i], 'hex')];
        // Bytes 4..8 are fixed per process in a default ObjectId, and 9..11 a shared counter.
        expect(prev.subarray(4, 9).equals(next.subarray(4, 9))).toBe(false);
        const gap = BigInt('0x' + list[i].slice(12)) - BigInt('0x' + list[i - 1].slice(12));
        expect(gap > 1_000_000n || gap < -1_000_000n).toBe(true);
        // Seconds then milliseconds lead: the order of creation is kept.
        expect(list[i].slice(0, 12) >= list[i - 1].slice(0, 12)).toBe(true);
      }
      for (const id of list) expect(parseInt(id.slice(0, 8), 16)).toBeGreaterThanOrEqual(startSec);
    }
  });
});
