import request from 'supertest';
import { ConversationsService } from '@chat/chat';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { api, asUser, Client, createTenant, TestTenant } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

/** Conversations and membership over HTTP (real FerretDB and Redis), including every permission failure. */
describe('chat conversations over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  const b64 = (s: string) => Buffer.from(s).toString('base64');

  /** A tenant with active users and a client per user. */
  async function setup(...ids: string[]): Promise<{ tn: TestTenant; as: Record<string, Client> }> {
    const tn = await createTenant(t);
    await api(t, tn).post('/v1/users/batch').send({ users: ids.map((id) => ({ external_id: id, profile: { display_name: `Name ${id}` } })) }).expect(200);
    const as: Record<string, Client> = {};
    for (const id of ids) {
      const res = await api(t, tn).post(`/v1/users/${id}/tokens`).send({}).expect(201);
      as[id] = asUser(t, res.body.token);
    }
    return { tn, as };
  }

  /** An opaque E2E envelope with a wrapped key for each member (the server never looks inside). */
  function envelope(memberIds: string[]) {
    return {
      type: 'text',
      algorithm: 'x25519-hkdf-xchacha20poly1305-v1',
      sender_device_id: 'd1',
      sender_key_version: 1,
      ephemeral_public_key: b64('e'.repeat(32)),
      encrypted_data: b64('ciphertext'),
      encrypted_key: memberIds.map((user_id) => ({ user_id, device_id: 'd1', key_version: 1, wrapped_key: b64('k'.repeat(40)) })),
    };
  }

  async function send(c: Client, conversationId: string, memberIds: string[]) {
    return c.post(`/v1/conversations/${conversationId}/messages`).send({ content: envelope(memberIds) });
  }

  it('direct: concurrent creation from both sides yields one conversation (one 201); refusals', async () => {
    const { tn, as } = await setup('a', 'b', 'c');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? as.a.post('/v1/conversations/direct').send({ user_id: 'b' }) : as.b.post('/v1/conversations/direct').send({ user_id: 'a' }))),
    );
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(9);
    const d = results[0].body;
    expect(d).toMatchObject({ type: 'direct', member_count: 2, last_seq: 0, unread_count: 0, last_message: null });
    expect(d.participants.map((p: any) => p.user_id).sort()).toEqual(['a', 'b']);

    expect((await as.a.post('/v1/conversations/direct').send({ user_id: 'a' }).expect(400)).body.error.code).toBe('validation_failed');
    expect((await as.a.post('/v1/conversations/direct').send({ user_id: 'ghost' }).expect(404)).body.error.code).toBe('not_found');
    await as.a.post('/v1/conversations/direct').send({}).expect(400);
    // c blocks a: a can neither open nor (if it existed) write to a direct conversation with c.
    await as.c.put('/v1/me/relationships/a').send({ type: 'blocked' }).expect(200);
    expect((await as.a.post('/v1/conversations/direct').send({ user_id: 'c' }).expect(403)).body.error.code).toBe('forbidden');
    await as.c.delete('/v1/me/relationships/a/blocked').expect(204);
    const ac = await as.a.post('/v1/conversations/direct').send({ user_id: 'c' }).expect(201);
    await as.c.put('/v1/me/relationships/a').send({ type: 'blocked' }).expect(200);
    expect((await send(as.a, ac.body.id, ['a', 'c'])).status).toBe(403);
    expect((await as.a.post('/v1/conversations/direct').send({ user_id: 'c' }).expect(403)).body.error.code).toBe('forbidden');
    // A direct conversation cannot be left, managed or renamed.
    await as.a.post(`/v1/conversations/${d.id}/leave`).expect(403);
    await as.a.post(`/v1/conversations/${d.id}/members`).send({ user_ids: ['c'] }).expect(403);
    await as.a.patch(`/v1/conversations/${d.id}`).send({ name: 'x' }).expect(403);
    // A user of another tenant does not exist here.
    const other = await createTenant(t);
    await api(t, other).put('/v1/users/stranger').send({}).expect(201);
    await as.a.post('/v1/conversations/direct').send({ user_id: 'stranger' }).expect(404);
    void tn;
  });

  it('groups: create, add, promote, remove, leave, with every permission failure', async () => {
    const { as } = await setup('owner', 'admin', 'mem', 'out', 'late');
    const bad = [{ type: 'direct' }, { type: 'group', member_ids: ['bad id'] }, { type: 'group', name: 'x'.repeat(201) }, { type: 'group', extra: 1 }];
    for (const body of bad) expect((await as.owner.post('/v1/conversations').send(body)).status).toBe(400);
    const missing = await as.owner.post('/v1/conversations').send({ type: 'group', member_ids: ['mem', 'ghost'] }).expect(404);
    expect(missing.body.error.details).toEqual({ missing_user_ids: ['ghost'] });

    const g = (await as.owner.post('/v1/conversations').send({ type: 'group', name: 'Team', description: 'd', member_ids: ['admin', 'mem'] }).expect(201)).body;
    expect(g).toMatchObject({ type: 'group', role: 'owner', member_count: 3, metadata: { name: 'Team', description: 'd', avatar: null } });
    const id = g.id;
    // Non-members: 404 for everything (existence is not revealed).
    for (const [method, path, body] of [
      ['get', `/v1/conversations/${id}`, undefined],
      ['patch', `/v1/conversations/${id}`, { name: 'n' }],
      ['post', `/v1/conversations/${id}/members`, { user_ids: ['out'] }],
      ['delete', `/v1/conversations/${id}/members/mem`, undefined],
      ['put', `/v1/conversations/${id}/members/mem/role`, { role: 'admin' }],
      ['post', `/v1/conversations/${id}/leave`, undefined],
      ['post', `/v1/conversations/${id}/join`, undefined],
      ['patch', `/v1/conversations/${id}/settings`, { muted: true }],
      ['get', `/v1/conversations/${id}/messages`, undefined],
    ] as const) {
      const req = (as.out as any)[method](path);
      const res = body ? await req.send(body) : await req;
      expect([method, path, res.status, res.body.error?.code]).toEqual([method, path, 404, 'not_found']);
    }
    // Members without rights: 403.
    await as.mem.post(`/v1/conversations/${id}/members`).send({ user_ids: ['out'] }).expect(403);
    await as.mem.patch(`/v1/conversations/${id}`).send({ name: 'mine' }).expect(403);
    await as.mem.put(`/v1/conversations/${id}/members/mem/role`).send({ role: 'owner' }).expect(403);
    await as.mem.delete(`/v1/conversations/${id}/members/admin`).expect(403);
    // Owner promotes; admin may add and remove members but not owners/admins, nor change roles.
    await as.owner.put(`/v1/conversations/${id}/members/admin/role`).send({ role: 'admin' }).expect(200);
    await as.owner.put(`/v1/conversations/${id}/members/admin/role`).send({ role: 'boss' }).expect(400);
    await as.owner.put(`/v1/conversations/${id}/members/ghost/role`).send({ role: 'admin' }).expect(404);
    await as.admin.post(`/v1/conversations/${id}/members`).send({ user_ids: ['out'] }).expect(200);
    await as.admin.post(`/v1/conversations/${id}/members`).send({ user_ids: ['out'] }).expect(200);
    await as.admin.post(`/v1/conversations/${id}/members`).send({ user_ids: [] }).expect(400);
    await as.admin.delete(`/v1/conversations/${id}/members/owner`).expect(403);
    await as.admin.put(`/v1/conversations/${id}/members/mem/role`).send({ role: 'admin' }).expect(403);
    expect((await as.admin.patch(`/v1/conversations/${id}`).send({ name: 'Renamed' }).expect(200)).body.metadata.name).toBe('Renamed');
    await as.admin.delete(`/v1/conversations/${id}/members/out`).expect(204);
    await as.admin.delete(`/v1/conversations/${id}/members/out`).expect(404);
    // The last owner can neither leave nor step down: 409 until they hand over.
    const stay = await as.owner.post(`/v1/conversations/${id}/leave`).expect(409);
    expect(stay.body.error).toMatchObject({ code: 'conflict', details: { reason: 'last_owner' } });
    await as.owner.put(`/v1/conversations/${id}/members/owner/role`).send({ role: 'member' }).expect(409);
    await as.owner.put(`/v1/conversations/${id}/members/admin/role`).send({ role: 'owner' }).expect(200);
    await as.owner.post(`/v1/conversations/${id}/leave`).expect(204);
    await as.owner.get(`/v1/conversations/${id}`).expect(404);
    const after = (await as.admin.get(`/v1/conversations/${id}`).expect(200)).body;
    expect(after.participants.map((p: any) => [p.user_id, p.role])).toEqual([
      ['admin', 'owner'],
      ['mem', 'member'],
    ]);
    // Joining is for channels only.
    await as.mem.post(`/v1/conversations/${id}/join`).expect(403);
    await as.late.post(`/v1/conversations/${id}/join`).expect(404);
    // Malformed ids are plain 404s.
    await as.mem.get('/v1/conversations/not-an-id').expect(404);
    await as.mem.get('/v1/conversations/0123456789abcdef01234567').expect(404);
  });

  it('a removed member is refused at once (cache invalidation), on reads and on sends', async () => {
    const { as } = await setup('o', 'm');
    const g = (await as.o.post('/v1/conversations').send({ type: 'group', member_ids: ['m'] }).expect(201)).body;
    expect((await send(as.m, g.id, ['o', 'm'])).status).toBe(201);
    await as.m.get(`/v1/conversations/${g.id}/messages`).expect(200); // membership now cached
    await as.o.delete(`/v1/conversations/${g.id}/members/m`).expect(204);
    expect((await send(as.m, g.id, ['o', 'm'])).status).toBe(404);
    await as.m.get(`/v1/conversations/${g.id}/messages`).expect(404);
    await as.m.get(`/v1/conversations/${g.id}`).expect(404);
    // And re-added members get in at once too.
    await as.o.post(`/v1/conversations/${g.id}/members`).send({ user_ids: ['m'] }).expect(200);
    await as.m.get(`/v1/conversations/${g.id}/messages`).expect(200);
    // The cache reports its hits and misses and the hit ratio.
    const metrics = (await request(t.url).get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/chat_cache_requests_total\{result="hit"\} [1-9]/);
    expect(metrics).toMatch(/chat_cache_requests_total\{result="miss"\} [1-9]/);
    expect(metrics).toMatch(/chat_cache_hit_ratio 0\.\d+/);
  });

  it('a rename is seen at once by every read, including ones that had been read (and cached) before', async () => {
    const { tn, as } = await setup('ro', 'ra', 'rm');
    const g = (await as.ro.post('/v1/conversations').send({ type: 'group', name: 'Before', member_ids: ['ra', 'rm'] }).expect(201)).body;
    await as.ro.put(`/v1/conversations/${g.id}/members/ra/role`).send({ role: 'admin' }).expect(200);
    // Every read path first: the member's GET and list, the server's GET, and a send and a history
    // read (they load the cached membership view, which carries the metadata too).
    expect((await as.rm.get(`/v1/conversations/${g.id}`).expect(200)).body.metadata.name).toBe('Before');
    expect((await as.rm.get('/v1/conversations').expect(200)).body.data[0].metadata.name).toBe('Before');
    expect((await api(t, tn).get(`/v1/conversations/${g.id}`).expect(200)).body.metadata.name).toBe('Before');
    expect((await send(as.rm, g.id, ['ro', 'ra', 'rm'])).status).toBe(201);
    await as.rm.get(`/v1/conversations/${g.id}/messages`).expect(200);
    const cachedView = () => TenantContext.run({ tenantId: asTenantId(tn.tenantId) }, () => t.app.get(ConversationsService).getView(g.id));
    expect((await cachedView())?.metadata.name).toBe('Before');

    // An admin (not the owner) renames; the very next reads show it, on every path.
    const renamed = (await as.ra.patch(`/v1/conversations/${g.id}`).send({ name: 'After', description: 'new' }).expect(200)).body;
    expect(renamed.metadata).toEqual({ name: 'After', description: 'new', avatar: null });
    expect((await as.rm.get(`/v1/conversations/${g.id}`).expect(200)).body.metadata).toEqual({ name: 'After', description: 'new', avatar: null });
    expect((await as.rm.get('/v1/conversations').expect(200)).body.data[0].metadata.name).toBe('After');
    expect((await api(t, tn).get(`/v1/conversations/${g.id}`).expect(200)).body.metadata.name).toBe('After');
    expect((await cachedView())?.metadata.name).toBe('After');
    // The server renames too (API key); a plain member may not.
    await api(t, tn).patch(`/v1/conversations/${g.id}`).send({ name: 'Server' }).expect(200);
    expect((await as.ro.get(`/v1/conversations/${g.id}`).expect(200)).body.metadata.name).toBe('Server');
    expect((await cachedView())?.metadata.name).toBe('Server');
    await as.rm.patch(`/v1/conversations/${g.id}`).send({ name: 'Mine' }).expect(403);
    expect((await as.rm.get(`/v1/conversations/${g.id}`).expect(200)).body.metadata.name).toBe('Server');
  });

  it('documents the routes in OpenAPI', async () => {
    const paths = Object.keys((await request(t.url).get('/docs/openapi.json').expect(200)).body.paths);
    for (const p of ['/v1/users/{external_id}', '/v1/users/batch', '/v1/users/{external_id}/tokens', '/v1/me/relationships/{user_id}', '/v1/conversations', '/v1/conversations/direct', '/v1/conversations/{id}/members/{user_id}/role']) {
      expect(paths).toContain(p);
    }
  });

  it('channels: directory, join, leave; members start with nothing unread', async () => {
    const { as } = await setup('host', 'u1', 'u2');
    const ch = (await as.host.post('/v1/conversations').send({ type: 'channel', name: 'News' }).expect(201)).body;
    expect((await send(as.host, ch.id, ['host'])).status).toBe(201);
    const dir = (await as.u1.get('/v1/conversations/channels').expect(200)).body;
    expect(dir.data.map((c: any) => c.id)).toEqual([ch.id]);
    expect(dir.data[0]).toMatchObject({ type: 'channel', metadata: { name: 'News' } });
    const joined = (await as.u1.post(`/v1/conversations/${ch.id}/join`).expect(200)).body;
    expect(joined).toMatchObject({ role: 'member', unread_count: 0, last_seq: 1 });
    await as.u1.post(`/v1/conversations/${ch.id}/join`).expect(200);
    expect((await send(as.host, ch.id, ['host', 'u1'])).status).toBe(201);
    expect((await as.u1.get(`/v1/conversations/${ch.id}`).expect(200)).body.unread_count).toBe(1);
    await as.u1.post(`/v1/conversations/${ch.id}/leave`).expect(204);
    await as.u1.get(`/v1/conversations/${ch.id}`).expect(404);
    await as.u1.post(`/v1/conversations/${ch.id}/leave`).expect(404);
    // Another tenant's users cannot see or join it.
    const { as: stranger } = await setup('x');
    await stranger.x.post(`/v1/conversations/${ch.id}/join`).expect(404);
    expect((await stranger.x.get('/v1/conversations/channels').expect(200)).body.data).toEqual([]);
  });

  it('lists my conversations newest activity first with unread counts, last_message and a cursor; settings', async () => {
    const { as } = await setup('me', 'p1', 'p2', 'p3');
    const convs: string[] = [];
    for (const peer of ['p1', 'p2', 'p3']) convs.push((await as.me.post('/v1/conversations/direct').send({ user_id: peer }).expect(201)).body.id);
    // Activity order: p2's conversation, then p1's (twice), p3's untouched.
    expect((await send(as.p1, convs[0], ['me', 'p1'])).status).toBe(201);
    expect((await send(as.p2, convs[1], ['me', 'p2'])).status).toBe(201);
    expect((await send(as.p1, convs[0], ['me', 'p1'])).status).toBe(201);
    const page1 = (await as.me.get('/v1/conversations?limit=2').expect(200)).body;
    expect(page1.data.map((c: any) => c.id)).toEqual([convs[0], convs[1]]);
    expect(page1.data[0]).toMatchObject({ unread_count: 2, last_seq: 2, last_message: { seq: 2, sender_id: 'p1' } });
    expect(page1.data[1]).toMatchObject({ unread_count: 1, last_message: { seq: 1, sender_id: 'p2' } });
    const page2 = (await as.me.get(`/v1/conversations?limit=2&cursor=${page1.next_cursor}`).expect(200)).body;
    expect(page2.data.map((c: any) => c.id)).toEqual([convs[2]]);
    expect(page2.next_cursor).toBeNull();
    expect((await as.me.get('/v1/conversations?type=group').expect(200)).body.data).toEqual([]);
    await as.me.get('/v1/conversations?limit=0').expect(400);
    await as.me.get('/v1/conversations?cursor=%%%').expect(400);
    // Reading moves the unread count.
    await as.me.post(`/v1/conversations/${convs[0]}/read`).send({ seq: 2 }).expect((r) => expect(r.status).toBeLessThan(300));
    expect((await as.me.get(`/v1/conversations/${convs[0]}`).expect(200)).body.unread_count).toBe(0);
    // Per-participant settings are mine only.
    const s = (await as.me.patch(`/v1/conversations/${convs[0]}/settings`).send({ muted: true, pinned: true }).expect(200)).body;
    expect(s.settings).toEqual({ muted: true, pinned: true });
    expect((await as.p1.get(`/v1/conversations/${convs[0]}`).expect(200)).body.settings).toEqual({ muted: false, pinned: false });
    await as.me.patch(`/v1/conversations/${convs[0]}/settings`).send({}).expect(400);
    await as.me.patch(`/v1/conversations/${convs[0]}/settings`).send({ muted: 'yes' }).expect(400);
  });

  it('the SaaS server manages conversations with its API key; other tenants and missing scopes are refused', async () => {
    const { tn, as } = await setup('s1', 's2', 's3');
    const a = api(t, tn);
    const g = (await a.post('/v1/users/s1/conversations').send({ type: 'group', name: 'Ops', member_ids: ['s2'] }).expect(201)).body;
    expect(g.participants.map((p: any) => [p.user_id, p.role])).toEqual([
      ['s1', 'owner'],
      ['s2', 'member'],
    ]);
    await a.post(`/v1/conversations/${g.id}/members`).send({ user_ids: ['s3'] }).expect(200);
    await a.put(`/v1/conversations/${g.id}/members/s3/role`).send({ role: 'admin' }).expect(200);
    await a.delete(`/v1/conversations/${g.id}/members/s2`).expect(204);
    expect((await a.get(`/v1/conversations/${g.id}`).expect(200)).body.member_count).toBe(2);
    const d = await a.post('/v1/users/s2/conversations/direct').send({ user_id: 's3' }).expect(201);
    expect((await as.s3.post('/v1/conversations/direct').send({ user_id: 's2' }).expect(200)).body.id).toBe(d.body.id);
    expect((await a.get('/v1/users/s3/conversations').expect(200)).body.data).toHaveLength(2);
    // The server may not remove the last owner while others remain.
    await a.delete(`/v1/conversations/${g.id}/members/s1`).expect(409);
    // Other tenants: 404; missing scope: 403.
    const other = await createTenant(t);
    await api(t, other).get(`/v1/conversations/${g.id}`).expect(404);
    await api(t, other).post(`/v1/conversations/${g.id}/members`).send({ user_ids: ['s3'] }).expect(404);
    await api(t, other).post('/v1/users/s1/conversations').send({ type: 'group' }).expect(404);
    const readOnly = await createTenant(t, { scopes: ['conversations:read'] });
    await api(t, readOnly).post('/v1/users/x/conversations').send({ type: 'group' }).expect(403);
    // End-user tokens of another tenant never reach this conversation.
    const { as: foreign } = await setup('s1');
    await foreign.s1.get(`/v1/conversations/${g.id}`).expect(404);
    await foreign.s1.delete(`/v1/conversations/${g.id}/members/s2`).expect(404);
  });

  it('deleting a user removes them from their conversations', async () => {
    const { tn, as } = await setup('d1', 'd2', 'd3');
    const g = (await as.d1.post('/v1/conversations').send({ type: 'group', member_ids: ['d2', 'd3'] }).expect(201)).body;
    await as.d1.put(`/v1/conversations/${g.id}/members/d3/role`).send({ role: 'admin' }).expect(200);
    await api(t, tn).delete('/v1/users/d1').expect(204);
    const view = (await as.d2.get(`/v1/conversations/${g.id}`).expect(200)).body;
    expect(view.participants.map((p: any) => [p.user_id, p.role])).toEqual([
      ['d2', 'member'],
      ['d3', 'owner'],
    ]);
    await as.d1.get('/v1/conversations').expect(401);
  });
});
