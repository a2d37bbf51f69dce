import { JwtService } from '@nestjs/jwt';
import { UserTokenService } from '@chat/auth';
import { api, asUser, createTenant, TestTenant } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

/** End users, their tokens and relationships over HTTP (real FerretDB and Redis). */
describe('chat users over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  const sign = (payload: object, secret: string) => new JwtService({}).sign(payload, { secret, algorithm: 'HS256' });

  async function tokenOf(tenant: TestTenant, id: string): Promise<string> {
    const res = await api(t, tenant).post(`/v1/users/${id}/tokens`).send({}).expect(201);
    expect(res.body).toEqual({ token: expect.any(String), expires_at: expect.any(String) });
    return res.body.token;
  }

  it('upserts (201 then 200), patches only given fields, reads, deactivates, reactivates and deletes', async () => {
    const tn = await createTenant(t);
    const a = api(t, tn);
    const created = await a.put('/v1/users/alice').send({ profile: { display_name: 'Alice Smith', custom_data: { tier: 'gold' } }, settings: { privacy: { last_seen: false } } }).expect(201);
    expect(created.body).toMatchObject({
      external_id: 'alice',
      profile: { display_name: 'Alice Smith', avatar_url: null, status: 'offline', custom_data: { tier: 'gold' } },
      settings: { notifications: {}, privacy: { last_seen: false } },
      encryption: { public_key: null, key_version: null },
      deactivated: false,
    });
    await a.put('/v1/users/alice').send({ profile: { status: 'online' } }).expect(200);
    const patched = await a.patch('/v1/users/alice').send({ encryption: { public_key: 'pk', key_version: 1 } }).expect(200);
    expect(patched.body.profile).toMatchObject({ display_name: 'Alice Smith', status: 'online', custom_data: { tier: 'gold' } });
    expect(patched.body.encryption).toEqual({ public_key: 'pk', key_version: 1 });
    expect((await a.get('/v1/users/alice').expect(200)).body.profile.status).toBe('online');
    await a.patch('/v1/users/nobody').send({ profile: { status: 'away' } }).expect(404);

    expect((await a.post('/v1/users/alice/deactivate').expect(200)).body.deactivated).toBe(true);
    expect((await a.post('/v1/users/alice/tokens').send({}).expect(403)).body.error.code).toBe('forbidden');
    expect((await a.post('/v1/users/alice/reactivate').expect(200)).body.deactivated).toBe(false);
    const token = await tokenOf(tn, 'alice');
    await asUser(t, token).get('/v1/me').expect(200);
    await a.delete('/v1/users/alice').expect(204);
    await a.get('/v1/users/alice').expect(404);
    await a.delete('/v1/users/alice').expect(404);
    // The deleted user's outstanding token no longer works.
    expect((await asUser(t, token).get('/v1/me').expect(401)).body.error.code).toBe('unauthorized');
    await a.post('/v1/users/alice/tokens').send({}).expect(404);
  });

  it('rejects bad input with 400 in the error shape', async () => {
    const tn = await createTenant(t);
    const a = api(t, tn);
    const bad = [
      { profile: { status: 'sleeping' } },
      { profile: { display_name: 42 } },
      { nickname: 'x' },
      { profile: { custom_data: { big: 'x'.repeat(9000) } } },
      { settings: { privacy: 'public' } },
      { encryption: { key_version: -1 } },
    ];
    for (const body of bad) {
      const res = await a.put('/v1/users/bob').send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
    expect((await a.put('/v1/users/bad%20id').send({}).expect(400)).body.error.code).toBe('validation_failed');
    expect((await a.post('/v1/users/batch').send({ users: [] }).expect(400)).body.error.code).toBe('validation_failed');
    await a.post('/v1/users/batch').send({ users: Array.from({ length: 1001 }, (_, i) => ({ external_id: `u${i}` })) }).expect(400);
    await a.post('/v1/users/batch').send({ users: [{ external_id: 'x' }, { external_id: 'x' }] }).expect(400);
    await a.post('/v1/users/x/tokens').send({ ttl_seconds: 5 }).expect(400);
    await a.get('/v1/users?limit=500').expect(400);
    await a.get('/v1/users?cursor=garbage').expect(400);
  });

  it('end users: /me, public profiles of others, search without deactivated users', async () => {
    const tn = await createTenant(t);
    const a = api(t, tn);
    await a.put('/v1/users/ann').send({ profile: { display_name: 'Ann' }, settings: { privacy: { last_seen: false } } }).expect(201);
    await a.put('/v1/users/andy').send({ profile: { display_name: 'Andy' } }).expect(201);
    await a.put('/v1/users/anita').send({ profile: { display_name: 'Anita' } }).expect(201);
    await a.post('/v1/users/anita/deactivate').expect(200);
    const me = asUser(t, await tokenOf(tn, 'andy'));
    expect((await me.get('/v1/me').expect(200)).body.external_id).toBe('andy');
    const updated = await me.patch('/v1/me').send({ profile: { status: 'dnd', avatar_url: 'https://cdn/x.png' } }).expect(200);
    expect(updated.body.profile).toMatchObject({ display_name: 'Andy', status: 'dnd', avatar_url: 'https://cdn/x.png' });
    await me.patch('/v1/me').send({ external_id: 'someone-else' }).expect(400);
    const ann = (await me.get('/v1/users/ann').expect(200)).body;
    expect(ann.settings).toBeUndefined();
    expect(ann.last_seen).toBeNull();
    expect(ann.profile.display_name).toBe('Ann');
    const found = (await me.get('/v1/users?prefix=an').expect(200)).body.data.map((u: any) => u.external_id).sort();
    expect(found).toEqual(['andy', 'ann']);
    expect((await a.get('/v1/users?prefix=an&include_deactivated=true').expect(200)).body.data).toHaveLength(3);
    // A token minted before the deactivation is refused on end-user routes.
    const anitaToken = (await t.app.get(UserTokenService).issue({ tenantId: tn.tenantId, applicationId: tn.applicationId, userId: 'anita' })).token;
    expect((await asUser(t, anitaToken).get('/v1/me').expect(403)).body.error.code).toBe('forbidden');
    await me.get('/v1/users/nobody').expect(404);
  });

  it('tokens: expired, malformed, wrongly signed, other-tenant and missing tokens get 401', async () => {
    const tn = await createTenant(t);
    const other = await createTenant(t);
    await api(t, tn).put('/v1/users/u1').send({}).expect(201);
    await api(t, other).put('/v1/users/u1').send({}).expect(201);
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: 'u1', tid: tn.tenantId, aid: tn.applicationId };
    const cases: Record<string, string> = {
      expired: sign({ ...claims, iat: now - 7200, exp: now - 3600 }, tn.appSecret),
      malformed: 'not.a.jwt',
      'wrong secret': sign({ ...claims, exp: now + 600 }, 'x'.repeat(48)),
      // Signed by this tenant's application but claiming another tenant.
      'other tenant claim': sign({ ...claims, tid: other.tenantId, exp: now + 600 }, tn.appSecret),
      // Another tenant's application secret used for this tenant's claims.
      'other tenant secret': sign({ ...claims, exp: now + 600 }, other.appSecret),
    };
    for (const [name, token] of Object.entries(cases)) {
      const res = await asUser(t, token).get('/v1/me');
      expect([name, res.status]).toEqual([name, 401]);
      expect(res.body.error.code).toBe('unauthorized');
    }
    const none = await api(t, 'nope').get('/v1/users').expect(401);
    expect(none.body.error.code).toBe('unauthorized');
    await asUser(t, '').get('/v1/me').expect(401);
    // A valid token of tenant A never reads tenant B's data.
    const tokenA = await tokenOf(tn, 'u1');
    expect((await asUser(t, tokenA).get('/v1/me').expect(200)).body.external_id).toBe('u1');
  });

  it('tenant isolation and API key scopes', async () => {
    const tn = await createTenant(t);
    const other = await createTenant(t);
    await api(t, tn).put('/v1/users/secret-user').send({ profile: { display_name: 'Secret' } }).expect(201);
    await api(t, other).get('/v1/users/secret-user').expect(404);
    await api(t, other).patch('/v1/users/secret-user').send({ profile: { status: 'away' } }).expect(404);
    await api(t, other).delete('/v1/users/secret-user').expect(404);
    await api(t, other).post('/v1/users/secret-user/tokens').send({}).expect(404);
    expect((await api(t, other).get('/v1/users?prefix=secret').expect(200)).body.data).toEqual([]);
    const readOnly = await createTenant(t, { scopes: ['users:read'] });
    const denied = await api(t, readOnly).put('/v1/users/x').send({}).expect(403);
    expect(denied.body.error.code).toBe('forbidden');
    await api(t, readOnly).get('/v1/users').expect(200);
    // End users cannot use API-key-only routes.
    await api(t, tn).put('/v1/users/eve').send({}).expect(201);
    const eve = asUser(t, await tokenOf(tn, 'eve'));
    await eve.put('/v1/users/eve').send({}).expect(401);
    await eve.post('/v1/users/batch').send({ users: [{ external_id: 'z' }] }).expect(401);
  });

  it('users quota: creation beyond the tenant quota is refused, updates are not', async () => {
    const tn = await createTenant(t, { quotas: { users: 3 } });
    const a = api(t, tn);
    await a.post('/v1/users/batch').send({ users: [{ external_id: 'q1' }, { external_id: 'q2' }] }).expect(200);
    await a.put('/v1/users/q3').send({}).expect(201);
    const refused = await a.put('/v1/users/q4').send({}).expect(429);
    expect(refused.body.error.code).toBe('quota_exceeded');
    await a.put('/v1/users/q1').send({ profile: { status: 'away' } }).expect(200);
    await a.post('/v1/users/batch').send({ users: [{ external_id: 'q1' }, { external_id: 'q5' }] }).expect(429);
  });

  it('relationships: friend, block, mute, list and delete; refusals', async () => {
    const tn = await createTenant(t);
    const a = api(t, tn);
    await a.post('/v1/users/batch').send({ users: [{ external_id: 'r1' }, { external_id: 'r2' }, { external_id: 'r3' }] }).expect(200);
    const r1 = asUser(t, await tokenOf(tn, 'r1'));
    expect((await r1.put('/v1/me/relationships/r2').send({ type: 'friend' }).expect(200)).body).toMatchObject({ user_id: 'r2', type: 'friend' });
    await r1.put('/v1/me/relationships/r2').send({ type: 'friend' }).expect(200);
    await r1.put('/v1/me/relationships/r3').send({ type: 'muted' }).expect(200);
    await r1.put('/v1/me/relationships/r2').send({ type: 'blocked' }).expect(200);
    const list = (await r1.get('/v1/me/relationships').expect(200)).body;
    expect(list.next_cursor).toBeNull();
    expect(list.data.map((r: any) => `${r.user_id}:${r.type}`).sort()).toEqual(['r2:blocked', 'r3:muted']);
    expect((await r1.get('/v1/me/relationships?type=blocked').expect(200)).body.data).toHaveLength(1);
    expect((await r1.put('/v1/me/relationships/r2').send({ type: 'friend' }).expect(409)).body.error.code).toBe('conflict');
    await r1.put('/v1/me/relationships/r2').send({ type: 'enemy' }).expect(400);
    await r1.put('/v1/me/relationships/r1').send({ type: 'muted' }).expect(400);
    await r1.put('/v1/me/relationships/ghost').send({ type: 'muted' }).expect(404);
    await r1.delete('/v1/me/relationships/r2/blocked').expect(204);
    await r1.delete('/v1/me/relationships/r2/blocked').expect(204);
    await r1.delete('/v1/me/relationships/r2/enemy').expect(400);
    expect((await r1.get('/v1/me/relationships').expect(200)).body.data).toHaveLength(1);
    // A user of another tenant is not found.
    const other = await createTenant(t);
    await api(t, other).put('/v1/users/outsider').send({}).expect(201);
    await r1.put('/v1/me/relationships/outsider').send({ type: 'blocked' }).expect(404);
  });
  it('batch-upserts up to 1000 users and searches by name word or id prefix with a cursor', async () => {
    const tn = await createTenant(t);
    const a = api(t, tn);
    const users = Array.from({ length: 1000 }, (_, i) => ({ external_id: `user-${String(i).padStart(4, '0')}`, profile: { display_name: i % 2 ? `Odd ${i}` : `Even ${i}` } }));
    users[7].profile.display_name = 'Zoë Quartz';
    const res = await a.post('/v1/users/batch').send({ users }).expect(200);
    expect(res.body.created).toHaveLength(1000);
    expect(res.body.updated).toEqual([]);
    const again = await a.post('/v1/users/batch').send({ users: users.slice(0, 3).concat([{ external_id: 'fresh', profile: { display_name: 'Fresh' } }]) }).expect(200);
    expect(again.body).toEqual({ created: ['fresh'], updated: users.slice(0, 3).map((u) => u.external_id) });

    expect((await a.get('/v1/users?prefix=quar').expect(200)).body.data.map((u: any) => u.external_id)).toEqual(['user-0007']);
    expect((await a.get('/v1/users?prefix=ZOË').expect(200)).body.data).toHaveLength(1);
    expect((await a.get('/v1/users?prefix=user-099').expect(200)).body.data).toHaveLength(10);
    // Prefix characters are literal, never a pattern.
    expect((await a.get('/v1/users?prefix=.*').expect(200)).body.data).toHaveLength(0);
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: any = await a.get(`/v1/users?prefix=odd&limit=100${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
      page.body.data.forEach((u: any) => seen.add(u.external_id));
      cursor = page.body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen.size).toBe(499); // user 7 was renamed
    expect(pages).toBe(5);
  });
});
