/* Per-conversation moderation through REST and sockets, on the real app (FerretDB, Redis): frozen and
 * muted members refused over both, slow mode on the test clock, conversation bans blocking rejoin,
 * pins bounded, cross-tenant attempts refused, audit entries and moderation.* webhook events. */
import { PINS_MAX } from '@chat/moderation';
import { fakeEnvelope } from './chat-messages-helpers';
import { api, asAdmin, asUser, Client, createTenant, userToken } from './support/factories';
import { moderationSuite, moderationWorld, ModerationWorld as World } from './support/moderation-world';
import { ask, connectSocket, nextEvent, TestSocket, waitFor } from './support/socket-client';
import type { TestApp } from './support/test-app';
import { useTestClock } from './support/test-clock';
import type { WebhookReceiver } from './support/webhook-receiver';

jest.setTimeout(120_000);

describe('conversation moderation (REST and sockets)', () => {
  const suite = moderationSuite();
  let t: TestApp;
  let receiver: WebhookReceiver;
  beforeAll(() => {
    ({ t, receiver } = suite);
  });

  const world = (type: 'group' | 'channel' = 'group') => moderationWorld(t, type);

  const restSend = (c: Client, w: World) => c.post(`/v1/conversations/${w.convId}/messages`).send({ content: fakeEnvelope(['alice', 'bob', 'carol']) });
  const socketSend = (s: TestSocket, w: World) => ask(s, 'message:send', { conversation_id: w.convId, content: fakeEnvelope(['alice', 'bob', 'carol']) });
  const errorCode = (ack: unknown) => (ack as { error?: { code: string } }).error?.code;

  it('a frozen conversation and a muted member are refused over REST and over the socket', async () => {
    const w = await world();
    const bobSocket = await connectSocket(t.url, w.bobToken);
    const bobsFirst = (await restSend(w.bob, w).expect(201)).body.id as string;
    const edit = () => w.bob.patch(`/v1/conversations/${w.convId}/messages/${bobsFirst}`).send({ content: fakeEnvelope(['alice', 'bob', 'carol']) });
    const react = (c: Client) => c.put(`/v1/conversations/${w.convId}/messages/${bobsFirst}/reactions/%F0%9F%91%8D`);

    // A plain member cannot moderate.
    await w.bob.patch(`/v1/conversations/${w.convId}/moderation`).send({ frozen: true }).expect(403);
    await w.bob.put(`/v1/conversations/${w.convId}/mutes/carol`).send({}).expect(403);

    // The owner freezes: read-only for everyone, the members' sockets are told.
    const frozen = await w.alice.patch(`/v1/conversations/${w.convId}/moderation`).send({ frozen: true }).expect(200);
    expect(frozen.body).toMatchObject({ conversation_id: w.convId, frozen: true, slow_mode_seconds: 0 });
    const told = await nextEvent(bobSocket, 'conversation:moderation', (p: any) => p.change?.action === 'conversation_frozen');
    expect(told).toMatchObject({ conversation_id: w.convId, frozen: true, change: { by: { type: 'user', id: 'alice' } } });
    expect((await restSend(w.bob, w).expect(403)).body.error.code).toBe('conversation_frozen');
    expect((await restSend(w.alice, w).expect(403)).body.error.code).toBe('conversation_frozen');
    expect(errorCode(await socketSend(bobSocket, w))).toBe('conversation_frozen');
    // Read-only means no edits and no new reactions either.
    expect((await edit().expect(403)).body.error.code).toBe('conversation_frozen');
    expect((await react(w.carol).expect(403)).body.error.code).toBe('conversation_frozen');
    await w.alice.patch(`/v1/conversations/${w.convId}/moderation`).send({ frozen: false }).expect(200);
    await restSend(w.bob, w).expect(201);

    // The server mutes bob: his sends are refused on both paths, carol's are not.
    const muted = await w.key.put(`/v1/conversations/${w.convId}/mutes/bob`).send({ reason: 'spam' }).expect(200);
    expect(muted.body).toMatchObject({ user_id: 'bob', reason: 'spam', expires_at: null, by: { type: 'api_key', id: w.tenant.apiKeyId } });
    await nextEvent(bobSocket, 'conversation:moderation', (p: any) => p.change?.action === 'member_muted');
    expect((await restSend(w.bob, w).expect(403)).body.error.code).toBe('member_muted');
    expect(errorCode(await socketSend(bobSocket, w))).toBe('member_muted');
    await restSend(w.carol, w).expect(201);
    expect((await edit().expect(403)).body.error.code).toBe('member_muted');
    expect((await react(w.bob).expect(403)).body.error.code).toBe('member_muted');
    expect(errorCode(await ask(bobSocket, 'reaction:add', { conversation_id: w.convId, message_id: bobsFirst, emoji: 'x' }))).toBe('member_muted');
    await react(w.carol).expect(200);
    const state = await w.bob.get(`/v1/conversations/${w.convId}/moderation`).expect(200);
    expect(state.body).toMatchObject({ frozen: false, muted: [{ user_id: 'bob', expires_at: null }], me: { muted: true, muted_until: null, exempt_from_slow_mode: false } });

    await w.alice.delete(`/v1/conversations/${w.convId}/mutes/bob`).expect(204);
    expect('ok' in (await socketSend(bobSocket, w))).toBe(true);
    await restSend(w.bob, w).expect(201);

    // Every action is in the audit log, with the actor.
    const admin = asAdmin(t, w.tenant.adminToken);
    const audit = async (action: string) => (await admin.get(`/admin/audit-logs?tenant_id=${w.tenant.tenantId}&action=${action}`).expect(200)).body.data;
    expect(await audit('moderation.conversation_frozen')).toEqual([expect.objectContaining({ actor: expect.objectContaining({ type: 'user', id: 'alice' }), success: true })]);
    expect(await audit('moderation.conversation_unfrozen')).toHaveLength(1);
    // Newest first: the server's mute, then bob's refused attempt (audited as a failure).
    expect(await audit('moderation.member_muted')).toEqual([
      expect.objectContaining({ actor: expect.objectContaining({ type: 'api_key', id: w.tenant.apiKeyId }), resource: { type: 'conversation', id: w.convId }, success: true }),
      expect.objectContaining({ actor: expect.objectContaining({ type: 'user', id: 'bob' }), success: false, severity: 'warning' }),
    ]);
    expect(await audit('moderation.conversation_update')).toEqual([expect.objectContaining({ actor: expect.objectContaining({ type: 'user', id: 'bob' }), success: false })]);
    expect(await audit('moderation.member_unmuted')).toHaveLength(1);
  });

  it('slow mode: one message per N seconds per member on the test clock; owners are exempt', async () => {
    const w = await world();
    const clock = useTestClock(t.app);
    const bobSocket = await connectSocket(t.url, w.bobToken);
    await w.alice.patch(`/v1/conversations/${w.convId}/moderation`).send({ slow_mode_seconds: 30 }).expect(200);
    await w.alice.patch(`/v1/conversations/${w.convId}/moderation`).send({ slow_mode_seconds: 86_401 }).expect(400);

    await restSend(w.bob, w).expect(201);
    const refused = await restSend(w.bob, w).expect(429);
    expect(refused.body.error).toMatchObject({ code: 'rate_limited', details: { reason: 'slow_mode', retry_after_seconds: 30 } });
    expect(refused.headers['retry-after']).toBe('30');
    expect(errorCode(await socketSend(bobSocket, w))).toBe('rate_limited');
    // Another member has a turn of their own; the owner has no limit.
    await restSend(w.carol, w).expect(201);
    await restSend(w.alice, w).expect(201);
    await restSend(w.alice, w).expect(201);

    clock.advance(29_000);
    expect((await restSend(w.bob, w).expect(429)).body.error.details.retry_after_seconds).toBe(1);
    clock.advance(1_000);
    expect('ok' in (await socketSend(bobSocket, w))).toBe(true);
    await restSend(w.bob, w).expect(429);

    await w.key.patch(`/v1/conversations/${w.convId}/moderation`).send({ slow_mode_seconds: 0 }).expect(200);
    await restSend(w.bob, w).expect(201);

    // A mute with an expiry ends on the same clock.
    const until = new Date(clock.now() + 60_000).toISOString();
    await w.alice.put(`/v1/conversations/${w.convId}/mutes/bob`).send({ expires_at: until }).expect(200);
    expect((await restSend(w.bob, w).expect(403)).body.error).toMatchObject({ code: 'member_muted', details: { muted_until: until } });
    clock.advance(60_000);
    await restSend(w.bob, w).expect(201);
  });

  it('a banned user is removed and cannot rejoin a channel nor be re-added until unbanned', async () => {
    const w = await world('channel');
    const bobSocket = await connectSocket(t.url, w.bobToken);
    const banned = await w.alice.put(`/v1/conversations/${w.convId}/bans/bob`).send({ reason: 'abuse' }).expect(200);
    expect(banned.body).toMatchObject({ user_id: 'bob', reason: 'abuse' });
    expect(await nextEvent(bobSocket, 'member:removed', (p: any) => p.conversation_id === w.convId && p.user_ids.includes('bob'))).toMatchObject({ by: 'alice' });
    await w.bob.get(`/v1/conversations/${w.convId}`).expect(404);
    await restSend(w.bob, w).expect(404);

    const rejoin = await w.bob.post(`/v1/conversations/${w.convId}/join`).expect(403);
    expect(rejoin.body.error.details).toMatchObject({ reason: 'banned', banned_user_ids: ['bob'] });
    await w.alice.post(`/v1/conversations/${w.convId}/members`).send({ user_ids: ['bob'] }).expect(403);
    await w.key.post(`/v1/conversations/${w.convId}/members`).send({ user_ids: ['bob'] }).expect(403);
    // Owners and admins see the list; members do not.
    expect((await w.alice.get(`/v1/conversations/${w.convId}/bans`).expect(200)).body.data).toEqual([expect.objectContaining({ user_id: 'bob' })]);
    await w.carol.get(`/v1/conversations/${w.convId}/bans`).expect(403);
    // A member cannot ban the owner; an owner cannot ban itself.
    await w.carol.put(`/v1/conversations/${w.convId}/bans/alice`).send({}).expect(403);
    await w.alice.put(`/v1/conversations/${w.convId}/bans/alice`).send({}).expect(403);

    await w.alice.delete(`/v1/conversations/${w.convId}/bans/bob`).expect(204);
    await w.alice.delete(`/v1/conversations/${w.convId}/bans/bob`).expect(404);
    await w.bob.post(`/v1/conversations/${w.convId}/join`).expect(200);
    await restSend(w.bob, w).expect(201);
  });

  it('pins: any member lists, moderators pin and unpin, at most PINS_MAX', async () => {
    const w = await world();
    const ids: string[] = [];
    for (let i = 0; i < PINS_MAX + 1; i++) ids.push((await restSend(w.alice, w).expect(201)).body.id);
    await w.bob.put(`/v1/conversations/${w.convId}/pins/${ids[0]}`).expect(403);
    const first = await w.alice.put(`/v1/conversations/${w.convId}/pins/${ids[0]}`).expect(200);
    expect(first.body).toMatchObject({ message_id: ids[0], seq: 1, pinned_by: { type: 'user', id: 'alice' } });
    // Pinning again is a no-op.
    await w.alice.put(`/v1/conversations/${w.convId}/pins/${ids[0]}`).expect(200);
    for (const id of ids.slice(1, PINS_MAX)) await w.key.put(`/v1/conversations/${w.convId}/pins/${id}`).expect(200);
    const full = await w.alice.put(`/v1/conversations/${w.convId}/pins/${ids[PINS_MAX]}`).expect(409);
    expect(full.body.error.details).toMatchObject({ reason: 'pins_full', max: PINS_MAX });
    const listed = await w.bob.get(`/v1/conversations/${w.convId}/pins`).expect(200);
    expect(listed.body.data).toHaveLength(PINS_MAX);
    expect(listed.body.next_cursor).toBeNull();

    await w.alice.delete(`/v1/conversations/${w.convId}/pins/${ids[0]}`).expect(204);
    await w.alice.delete(`/v1/conversations/${w.convId}/pins/${ids[0]}`).expect(404);
    await w.alice.put(`/v1/conversations/${w.convId}/pins/${ids[PINS_MAX]}`).expect(200);
    await w.alice.put(`/v1/conversations/${w.convId}/pins/000000000000000000000000`).expect(404);
    // An unpinned message can be pinned again (its record is kept, unpinned, for its webhook event).
    await w.alice.delete(`/v1/conversations/${w.convId}/pins/${ids[1]}`).expect(204);
    await w.alice.put(`/v1/conversations/${w.convId}/pins/${ids[0]}`).expect(200);
    const after = (await w.bob.get(`/v1/conversations/${w.convId}/pins`).expect(200)).body.data as Array<{ message_id: string }>;
    expect(after).toHaveLength(PINS_MAX);
    expect(after.map((p) => p.message_id)).toContain(ids[0]);
    expect(after.map((p) => p.message_id)).not.toContain(ids[1]);
  });

  it('another tenant cannot see or moderate the conversation', async () => {
    const w = await world();
    const other = await createTenant(t);
    const k = api(t, other);
    await k.get(`/v1/conversations/${w.convId}/moderation`).expect(404);
    await k.patch(`/v1/conversations/${w.convId}/moderation`).send({ frozen: true }).expect(404);
    await k.put(`/v1/conversations/${w.convId}/mutes/bob`).send({}).expect(404);
    await k.put(`/v1/conversations/${w.convId}/bans/bob`).send({}).expect(404);
    await k.get(`/v1/conversations/${w.convId}/pins`).expect(404);
    await k.post(`/v1/conversations/${w.convId}/system-messages`).send({ text: 'hi' }).expect(404);
    // A user of the other tenant with the same external id gets nothing either.
    const mallory = asUser(t, await userToken(t, other, 'alice'));
    await mallory.patch(`/v1/conversations/${w.convId}/moderation`).send({ frozen: true }).expect(404);
    // Nothing changed.
    expect((await w.key.get(`/v1/conversations/${w.convId}/moderation`).expect(200)).body).toMatchObject({ frozen: false, muted: [] });
    await restSend(w.bob, w).expect(201);
  });

  it('records moderation.* webhook events (ids and metadata only)', async () => {
    const w = await world();
    await w.key.post('/v1/webhooks').send({ url: receiver.url, events: ['moderation.member_muted', 'moderation.slow_mode_changed'] }).expect(201);
    await w.alice.put(`/v1/conversations/${w.convId}/mutes/bob`).send({ reason: 'spam' }).expect(200);
    await w.key.patch(`/v1/conversations/${w.convId}/moderation`).send({ slow_mode_seconds: 5 }).expect(200);
    const mine = () => receiver.received.filter((r) => r.body.tenant_id === w.tenant.tenantId);
    await waitFor(() => mine().length >= 2, { timeoutMs: 30_000 }, 'two moderation webhooks');
    const muted = mine().find((r) => r.body.type === 'moderation.member_muted')!;
    expect(muted.body.data).toMatchObject({ conversation_id: w.convId, user_id: 'bob', reason: 'spam', expires_at: null, by: { type: 'user', id: 'alice' } });
    const slow = mine().find((r) => r.body.type === 'moderation.slow_mode_changed')!;
    expect(slow.body.data).toMatchObject({ conversation_id: w.convId, slow_mode_seconds: 5, previous_seconds: 0, by: { type: 'api_key' } });
  });
});
