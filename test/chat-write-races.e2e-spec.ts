/* Chat documents keep every change made to them when two requests change one document at once. On
 * FerretDB a single-document update is read, changed in Go and written back whole; the repositories of
 * users, conversations and conversation moderation run every update under the document's lock
 * (StoreDialect.serialised), so none of these may lose a change. Regression tests: with the lock made a
 * plain call they lose changes (see the commit message for the rates). */
import { api, asUser, createTenant, userToken } from './support/factories';
import { seedConversation } from './support/moderation-world';
import { createTestApp, TestApp } from './support/test-app';

describe('chat documents under concurrent writes (FerretDB)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  it('a user deactivated while its profile is updated keeps both', async () => {
    const tenant = await createTenant(t);
    const key = api(t, tenant);
    const lost: string[] = [];
    for (let i = 0; i < 20; i++) {
      const id = `u${i}`;
      await key.put(`/v1/users/${id}`).send({ profile: { display_name: 'before' } }).expect(201);
      const [patch, deactivate] = await Promise.all([key.patch(`/v1/users/${id}`).send({ profile: { display_name: `after ${i}` } }), key.post(`/v1/users/${id}/deactivate`)]);
      expect([patch.status, deactivate.status]).toEqual([200, 200]);
      const stored = (await key.get(`/v1/users/${id}`).expect(200)).body;
      if (stored.profile?.display_name !== `after ${i}` || !stored.deactivated) lost.push(`${id}: ${stored.profile?.display_name}, deactivated ${stored.deactivated}`);
    }
    expect(lost).toEqual([]);
  }, 120_000);

  it("a conversation renamed while a member's role changes keeps both", async () => {
    const tenant = await createTenant(t);
    const convId = await seedConversation(t, tenant, ['alice', 'bob', 'carol']);
    const alice = asUser(t, await userToken(t, tenant, 'alice'));
    const lost: string[] = [];
    for (let i = 0; i < 20; i++) {
      const role = i % 2 ? 'member' : 'admin';
      const [rename, setRole] = await Promise.all([
        alice.patch(`/v1/conversations/${convId}`).send({ name: `name ${i}` }),
        alice.put(`/v1/conversations/${convId}/members/bob/role`).send({ role }),
      ]);
      expect([rename.status, setRole.status]).toEqual([200, 200]);
      const stored = (await alice.get(`/v1/conversations/${convId}`).expect(200)).body;
      const bob = stored.participants.find((m: { user_id: string }) => m.user_id === 'bob');
      if (stored.metadata.name !== `name ${i}` || bob?.role !== role) lost.push(`round ${i}: ${stored.metadata.name}, bob ${bob?.role}`);
    }
    expect(lost).toEqual([]);
  }, 120_000);

  it('a conversation frozen while its slow mode changes keeps both', async () => {
    const tenant = await createTenant(t);
    const convId = await seedConversation(t, tenant, ['alice', 'bob']);
    const alice = asUser(t, await userToken(t, tenant, 'alice'));
    const lost: string[] = [];
    for (let i = 0; i < 20; i++) {
      const frozen = i % 2 === 0;
      const [freeze, slow] = await Promise.all([
        alice.patch(`/v1/conversations/${convId}/moderation`).send({ frozen }),
        alice.patch(`/v1/conversations/${convId}/moderation`).send({ slow_mode_seconds: 10 + i }),
      ]);
      expect([freeze.status, slow.status]).toEqual([200, 200]);
      const stored = (await alice.get(`/v1/conversations/${convId}/moderation`).expect(200)).body;
      if (stored.frozen !== frozen || stored.slow_mode_seconds !== 10 + i) lost.push(`round ${i}: frozen ${stored.frozen}, slow ${stored.slow_mode_seconds}`);
    }
    expect(lost).toEqual([]);
  }, 120_000);
});
