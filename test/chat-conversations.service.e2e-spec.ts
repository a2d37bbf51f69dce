import { randomBytes } from 'node:crypto';
import { CacheService } from '@chat/cache';
import { ConversationsRepository, ConversationsService, RelationshipsService, UsersService } from '@chat/chat';
import { asTenantId, TenantContext, TenantId } from '@chat/tenancy';
import { createTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';

/** Service-level integration tests of chat core A against the real FerretDB and Redis. */
describe('chat core A services (users, relationships, conversations, cache)', () => {
  let t: TestApp;
  let users: UsersService;
  let rel: RelationshipsService;
  let convs: ConversationsService;
  let repo: ConversationsRepository;
  let cache: CacheService;

  beforeAll(async () => {
    t = await createTestApp();
    users = t.app.get(UsersService);
    rel = t.app.get(RelationshipsService);
    convs = t.app.get(ConversationsService);
    repo = t.app.get(ConversationsRepository);
    cache = t.app.get(CacheService);
  });
  afterAll(async () => t?.close());

  const newTenant = (): TenantId => asTenantId(`t_${randomBytes(6).toString('hex')}`);
  const as = <T>(tenantId: TenantId, fn: () => Promise<T>) => TenantContext.run({ tenantId }, fn);

  async function seedUsers(tenantId: TenantId, ...ids: string[]) {
    await as(tenantId, () => users.upsertMany(ids.map((id) => ({ external_id: id, profile: { display_name: `User ${id}` } }))));
  }

  it('upserts users, merges partial updates and searches by name or id prefix', async () => {
    const tn = newTenant();
    await as(tn, async () => {
      const a = await users.upsert('alice', { profile: { display_name: 'Alice Smith', custom_data: { plan: 'pro' } } });
      expect(a.created).toBe(true);
      expect(a.user.profile).toMatchObject({ display_name: 'Alice Smith', status: 'offline', custom_data: { plan: 'pro' } });
      const again = await users.upsert('alice', { profile: { avatar_url: 'https://x/a.png' } });
      expect(again.created).toBe(false);
      expect(again.user.profile).toMatchObject({ display_name: 'Alice Smith', avatar_url: 'https://x/a.png', custom_data: { plan: 'pro' } });
      await users.upsert('bob', { profile: { display_name: 'Bob' } });
      await users.upsert('smithers', {});
      const byWord = await users.search('smi', {});
      expect(byWord.data.map((u) => u.external_id).sort()).toEqual(['alice', 'smithers']);
      const page1 = await users.search('', { limit: 2 });
      expect(page1.data).toHaveLength(2);
      const page2 = await users.search('', { limit: 2, cursor: page1.next_cursor! });
      expect(page2.data.map((u) => u.external_id)).toEqual(['smithers']);
      expect(page2.next_cursor).toBeNull();
      await users.setDeactivated('bob', true);
      expect((await users.search('bo', {})).data).toHaveLength(0);
      expect((await users.search('bo', { includeDeactivated: true })).data).toHaveLength(1);
      await expect(users.requireActive('bob')).rejects.toMatchObject({ code: 'forbidden' });
      await expect(users.requireActive('nobody')).rejects.toMatchObject({ code: 'not_found' });
    });
    // Another tenant sees none of it.
    await as(newTenant(), async () => {
      expect(await users.find('alice')).toBeNull();
      expect((await users.search('a', {})).data).toHaveLength(0);
    });
  });

  it('batch upsert reports created and updated ids', async () => {
    const tn = newTenant();
    await as(tn, async () => {
      await users.upsert('u1', {});
      const items = Array.from({ length: 300 }, (_, i) => ({ external_id: `u${i}`, profile: { display_name: `N ${i}` } }));
      const r = await users.upsertMany(items);
      expect(r.created).toHaveLength(299);
      expect(r.updated).toEqual(['u1']);
      expect((await users.get('u250')).profile.display_name).toBe('N 250');
      await expect(users.upsertMany([{ external_id: 'x' }, { external_id: 'x' }])).rejects.toMatchObject({ code: 'validation_failed' });
    });
  });

  it('relationships: block, friend, idempotent removal; isBlocked is cached and invalidated', async () => {
    const tn = newTenant();
    await seedUsers(tn, 'a', 'b', 'c');
    await as(tn, async () => {
      await rel.set('a', 'b', 'friend');
      expect(await rel.isBlocked('a', 'b')).toBe(false);
      await rel.set('a', 'b', 'blocked');
      expect(await rel.isBlocked('a', 'b')).toBe(true);
      // Blocking ended the friendship.
      expect((await rel.list('a')).map((r) => r.type)).toEqual(['blocked']);
      await expect(rel.set('a', 'b', 'friend')).rejects.toMatchObject({ code: 'conflict' });
      await expect(rel.set('a', 'a', 'muted')).rejects.toMatchObject({ code: 'validation_failed' });
      await expect(rel.set('a', 'ghost', 'muted')).rejects.toMatchObject({ code: 'not_found' });
      await rel.remove('a', 'b', 'blocked');
      await rel.remove('a', 'b', 'blocked');
      expect(await rel.isBlocked('a', 'b')).toBe(false);
      // Concurrent writes to one user's relationships all land (compare-and-set, retried).
      await Promise.all([rel.set('a', 'b', 'muted'), rel.set('a', 'c', 'muted'), rel.set('a', 'c', 'friend')]);
      expect((await rel.list('a')).length).toBe(3);
    });
  });

  it('direct conversations: one per pair even under concurrent creation; blocked users are refused', async () => {
    const tn = newTenant();
    await seedUsers(tn, 'a', 'b', 'c');
    await as(tn, async () => {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? convs.openDirect('a', 'b') : convs.openDirect('b', 'a'))));
      const ids = new Set(results.map((r) => r.conversation.id));
      expect(ids.size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      await rel.set('c', 'a', 'blocked');
      await expect(convs.openDirect('a', 'c')).rejects.toMatchObject({ code: 'forbidden' });
      await expect(convs.openDirect('a', 'a')).rejects.toMatchObject({ code: 'validation_failed' });
      await expect(convs.openDirect('a', 'ghost')).rejects.toMatchObject({ code: 'not_found' });
    });
  });

  it('groups: roles, last owner rule, removal refused at once through the cache', async () => {
    const tn = newTenant();
    await seedUsers(tn, 'o', 'm1', 'm2', 'x');
    await as(tn, async () => {
      const g = await convs.create('o', { type: 'group', name: 'G', member_ids: ['m1', 'm2'] });
      expect(g.participants.map((p) => [p.user_id, p.role])).toEqual([
        ['o', 'owner'],
        ['m1', 'member'],
        ['m2', 'member'],
      ]);
      // Warm the cache, then remove: the next check refuses.
      await convs.requireMember(g.id, 'm2');
      await convs.requireMember(g.id, 'm2');
      await expect(convs.removeMember(g.id, { kind: 'user', userId: 'm1' }, 'm2')).rejects.toMatchObject({ code: 'forbidden' });
      await convs.removeMember(g.id, { kind: 'user', userId: 'o' }, 'm2');
      await expect(convs.requireMember(g.id, 'm2')).rejects.toMatchObject({ code: 'not_found' });
      await expect(convs.requireMember(g.id, 'x')).rejects.toMatchObject({ code: 'not_found' });
      // Non-members learn nothing; members without rights get 403.
      await expect(convs.addMembers(g.id, { kind: 'user', userId: 'x' }, ['x'])).rejects.toMatchObject({ code: 'not_found' });
      await expect(convs.addMembers(g.id, { kind: 'user', userId: 'm1' }, ['x'])).rejects.toMatchObject({ code: 'forbidden' });
      await expect(convs.addMembers(g.id, { kind: 'user', userId: 'o' }, ['ghost'])).rejects.toMatchObject({ code: 'not_found' });
      await convs.addMembers(g.id, { kind: 'user', userId: 'o' }, ['x']);
      expect((await convs.requireMember(g.id, 'x')).participants).toHaveLength(3);
      await expect(convs.leave(g.id, 'o')).rejects.toMatchObject({ code: 'conflict' });
      await expect(convs.setRole(g.id, { kind: 'user', userId: 'o' }, 'o', 'member')).rejects.toMatchObject({ code: 'conflict' });
      await expect(convs.setRole(g.id, { kind: 'user', userId: 'm1' }, 'm1', 'owner')).rejects.toMatchObject({ code: 'forbidden' });
      await convs.setRole(g.id, { kind: 'user', userId: 'o' }, 'm1', 'owner');
      await convs.leave(g.id, 'o');
      expect((await convs.getMemberIds(g.id)).sort()).toEqual(['m1', 'x']);
    });
    await as(newTenant(), async () => {
      await expect(convs.requireMember((await as(tn, () => convs.list('m1', {}))).data[0].id, 'm1')).rejects.toMatchObject({ code: 'not_found' });
    });
  });

  it('concurrent membership changes and read positions do not lose each other', async () => {
    const tn = newTenant();
    const ids = Array.from({ length: 12 }, (_, i) => `p${i}`);
    await seedUsers(tn, 'own', ...ids);
    await as(tn, async () => {
      const g = await convs.create('own', { type: 'channel', name: 'C' });
      await Promise.all(ids.map((id) => convs.join(g.id, id)));
      expect((await convs.getMemberIds(g.id)).length).toBe(13);
      await repo.reserveSeqs(g.id, 50);
      // A member who joins later starts with nothing unread.
      await seedUsers(tn, 'late');
      expect(await convs.join(g.id, 'late')).toMatchObject({ unread_count: 0, last_seq: 50 });
      await Promise.all([
        ...ids.slice(0, 6).map((id, i) => repo.markRead(g.id, id, 10 + i)),
        ...ids.slice(6, 9).map((id) => convs.leave(g.id, id)),
        convs.updateSettings(g.id, 'p10', { pinned: true }),
      ]);
      const doc = await convs.getForMember(g.id, 'p0');
      expect(doc.member_count).toBe(11);
      expect(doc.unread_count).toBe(40);
      const pos = Object.fromEntries(doc.participants.map((p) => [p.user_id, p.last_read_seq]));
      ids.slice(0, 6).forEach((id, i) => expect(pos[id]).toBe(10 + i));
      expect((await convs.getForMember(g.id, 'p10')).settings).toEqual({ muted: false, pinned: true });
      // Read positions only move forward and are capped at last_seq.
      expect(await repo.markRead(g.id, 'p0', 3)).toMatchObject({ last_read_seq: 10, changed: false });
      expect(await repo.markRead(g.id, 'p0', 999)).toMatchObject({ last_read_seq: 50, changed: true });
      expect(await repo.markRead(g.id, 'p7', 5)).toBeNull();
    });
  });

  it('reserveSeqs is gap-free under concurrency; setLastMessage only moves forward; list is newest first with unread counts', async () => {
    const tn = newTenant();
    await seedUsers(tn, 'a', 'b', 'c');
    await as(tn, async () => {
      const d1 = (await convs.openDirect('a', 'b')).conversation;
      const d2 = (await convs.openDirect('a', 'c')).conversation;
      const firsts = await Promise.all(Array.from({ length: 40 }, (_, i) => repo.reserveSeqs(d1.id, 1 + (i % 3))));
      const seqs = firsts.flatMap((f, i) => Array.from({ length: 1 + (i % 3) }, (_, k) => f! + k)).sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      const at = new Date();
      expect(await repo.setLastMessage(d1.id, { content_preview: 'c1', sender_id: 'a', sent_at: at, seq: 5, message_id: 'm5' })).toBe(true);
      expect(await repo.setLastMessage(d1.id, { content_preview: 'c0', sender_id: 'a', sent_at: at, seq: 4, message_id: 'm4' })).toBe(false);
      await repo.markRead(d1.id, 'b', 20);
      const list = await convs.list('b', {});
      expect(list.data[0]).toMatchObject({ id: d1.id, last_message: { seq: 5, message_id: 'm5' }, unread_count: seqs.length - 20 });
      // Newest activity first.
      await repo.reserveSeqs(d2.id, 1);
      await repo.setLastMessage(d2.id, { content_preview: null, sender_id: 'c', sent_at: new Date(Date.now() + 1000), seq: 1, message_id: 'x' });
      const la = await convs.list('a', { limit: 1 });
      expect(la.data[0].id).toBe(d2.id);
      const lb = await convs.list('a', { limit: 1, cursor: la.next_cursor! });
      expect(lb.data[0].id).toBe(d1.id);
      expect(lb.next_cursor).toBeNull();
      expect(await repo.reserveSeqs('0123456789abcdef01234567', 1)).toBeNull();
    });
  });

  it('deleting a user removes them from conversations and hands ownership over', async () => {
    const tn = newTenant();
    await seedUsers(tn, 'o', 'a', 'b');
    await as(tn, async () => {
      const g = await convs.create('o', { type: 'group', member_ids: ['a', 'b'] });
      await convs.setRole(g.id, { kind: 'user', userId: 'o' }, 'b', 'admin');
      await users.remove('o');
      const view = await convs.requireMember(g.id, 'a');
      expect(view.participants.map((p) => [p.user_id, p.role])).toEqual([
        ['a', 'member'],
        ['b', 'owner'],
      ]);
    });
  });

  it('cache: tenant-scoped keys, hit counting, and a stale load never overwrites an invalidation', async () => {
    const tn = newTenant();
    await as(tn, async () => {
      const before = cache.stats();
      expect(await cache.getOrLoad(['k'], 60, async () => 1)).toBe(1);
      expect(await cache.getOrLoad(['k'], 60, async () => 2)).toBe(1);
      expect(cache.stats().hits - before.hits).toBe(1);
      // A loader that read the old state before a write finishes after the invalidation: not stored.
      let release: (() => void) | undefined;
      const slow = cache.getOrLoad(['race'], 60, () => new Promise<string>((r) => (release = () => r('old'))));
      // Wait for the loader itself (it runs after the cache's read round trip), not for a fixed time.
      await waitFor(() => release !== undefined, { intervalMs: 1, what: 'the loader to start' });
      await cache.del(['race']);
      release!();
      expect(await slow).toBe('old');
      expect(await cache.getOrLoad(['race'], 60, async () => 'new')).toBe('new');
      // A burst of misses loads once (Redis mode); a caller after a write does not join the older load.
      let loads = 0;
      let finish!: () => void;
      const gate = new Promise<void>((r) => (finish = r));
      const burst = Array.from({ length: 5 }, () => cache.getOrLoad(['burst'], 60, async () => (loads++, await gate, 'v1')));
      await waitFor(() => loads > 0, { intervalMs: 1, what: 'the burst load to start' });
      await cache.del(['burst']);
      const afterWrite = cache.getOrLoad(['burst'], 60, async () => (loads++, 'v2'));
      finish();
      expect(await Promise.all(burst)).toEqual(['v1', 'v1', 'v1', 'v1', 'v1']);
      expect(await afterWrite).toBe('v2');
      expect(loads).toBe(2);
      // getOrLoadMany (Redis mode): one load for the misses, hits from Redis, an invalidated key reloads.
      const asked: number[][] = [];
      const many = (keys: string[][]) => cache.getOrLoadMany(keys, 60, async (missing) => (asked.push(missing), missing.map((i) => `m${i}`)));
      expect(await many([['m', '1'], ['m', '2'], ['m', '3']])).toEqual(['m0', 'm1', 'm2']);
      expect(await many([['m', '1'], ['m', '2'], ['m', '3']])).toEqual(['m0', 'm1', 'm2']);
      await cache.del(['m', '2']);
      expect(await many([['m', '1'], ['m', '2'], ['m', '3']])).toEqual(['m0', 'm1', 'm2']);
      expect(asked).toEqual([[0, 1, 2], [1]]);
    });
    await as(newTenant(), async () => expect(await cache.getOrLoad(['k'], 60, async () => 'other tenant')).toBe('other tenant'));
  });
});
