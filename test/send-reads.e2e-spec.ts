import request from 'supertest';
import { ConversationsService, MessageSendService, RelationshipsService, UsersService } from '@chat/chat';
import { RedisService } from '@chat/redis';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { ask, closeAllSockets, connectSocket, createRealtimeTenant, envelope } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';
import { asUser, createTenant, TestTenant, userToken } from './support/factories';
import { fakeEnvelope } from './chat-messages-helpers';

/**
 * The send path's cached reads (membership view, the recipients' device keys, moderation state) start
 * together, so a warm send reads the cache in one MGET (libs/cache batches a tick's reads); the checks
 * still refuse in their old order. Real app: FerretDB, Redis.
 */
describe('send path: cached reads in one round trip', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  const inTenant = <T>(tenant: TestTenant, fn: () => Promise<T>) => TenantContext.run({ tenantId: asTenantId(tenant.tenantId) }, fn);

  async function world() {
    const tenant = await createTenant(t);
    const members = ['alice', 'bob', 'carol'];
    const groupId = await inTenant(tenant, async () => {
      for (const id of [...members, 'dave']) await t.app.get(UsersService).upsert(id, { profile: { display_name: id } });
      return (await t.app.get(ConversationsService).create('alice', { type: 'group', name: 'g', member_ids: ['bob', 'carol'] })).id;
    });
    return { tenant, groupId, members };
  }

  it('a warm v1 group send reads the cache with one MGET', async () => {
    const { tenant, groupId, members } = await world();
    const send = t.app.get(MessageSendService);
    const mget = jest.spyOn(t.app.get(RedisService).client!, 'mget');
    try {
      await inTenant(tenant, async () => {
        // The first send fills the cache (membership view, device keys, moderation state).
        await send.send('alice', groupId, { content: fakeEnvelope(members) } as never);
        mget.mockClear();
        const { duplicate } = await send.send('alice', groupId, { content: fakeEnvelope(members) } as never);
        expect(duplicate).toBe(false);
      });
      // Before: one MGET each for the membership view, the key directory and the moderation state.
      expect(mget).toHaveBeenCalledTimes(1);
    } finally {
      mget.mockRestore();
    }
  }, 60_000);

  it('a warm v1 direct send reads the cache with one MGET, the other member\'s blocks included; a block still refuses', async () => {
    const { tenant } = await world();
    const send = t.app.get(MessageSendService);
    const mget = jest.spyOn(t.app.get(RedisService).client!, 'mget');
    try {
      await inTenant(tenant, async () => {
        const directId = (await t.app.get(ConversationsService).openDirect('alice', 'bob')).conversation.id;
        await send.send('alice', directId, { content: fakeEnvelope(['alice', 'bob']) } as never);
        mget.mockClear();
        expect((await send.send('alice', directId, { content: fakeEnvelope(['alice', 'bob']) } as never)).duplicate).toBe(false);
        // Before: the block list of bob was read in a second MGET, after the membership read.
        expect(mget).toHaveBeenCalledTimes(1);
        await t.app.get(RelationshipsService).set('bob', 'alice', 'blocked');
        await expect(send.send('alice', directId, { content: fakeEnvelope(['alice', 'bob']) } as never)).rejects.toMatchObject({ code: 'forbidden' });
        // An envelope that names nobody else (refused later for its keys) is still refused for the block first.
        await expect(send.send('alice', directId, { content: fakeEnvelope(['alice']) } as never)).rejects.toMatchObject({ code: 'forbidden' });
      });
    } finally {
      mget.mockRestore();
    }
  }, 60_000);

  it("a warm socket send: the gate's access check and the send's reads share one MGET; refusals keep their order", async () => {
    const w = await createRealtimeTenant(t.app);
    const conv = await w.group(['s1', 's2', 's3']);
    const s1 = await connectSocket(t.url, await w.token('s1'));
    const send = (id: string, to = ['s1', 's2', 's3']) => ask(s1, 'message:send', { conversation_id: conv, client_msg_id: id, content: envelope(to) });
    const mget = jest.spyOn(t.app.get(RedisService).client!, 'mget');
    try {
      expect(await send('warm')).toMatchObject({ ok: true });
      mget.mockClear();
      expect(await send('one')).toMatchObject({ ok: true });
      // Before: one MGET for the user and the ban at the gate, a second for the send's reads after it.
      expect(mget).toHaveBeenCalledTimes(1);
      // A non-member: 404, whatever else; a missing key: 422 (the reads were started at the gate).
      const other = await connectSocket(t.url, await w.token('x9'));
      expect(await ask(other, 'message:send', { conversation_id: conv, client_msg_id: 'nm', content: envelope(['s1']) })).toMatchObject({ error: { code: 'not_found' } });
      expect(await send('keys', ['s1'])).toMatchObject({ error: { code: 'missing_recipient_keys' } });
    } finally {
      mget.mockRestore();
      closeAllSockets();
    }
  }, 60_000);

  it('a non-member still gets the membership error first, whatever the other checks would say', async () => {
    const { tenant, groupId, members } = await world();
    const alice = asUser(t, await userToken(t, tenant, 'alice'));
    const dave = asUser(t, await userToken(t, tenant, 'dave'));
    await alice.patch(`/v1/conversations/${groupId}/moderation`).send({ frozen: true }).expect(200);
    // Frozen (moderation), keys missing for every member (an envelope for dave only): membership still comes first.
    const res = await dave.post(`/v1/conversations/${groupId}/messages`).send({ content: fakeEnvelope(['dave']) });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    // A member gets the recipient-key error before the moderation one, as before.
    const own = await alice.post(`/v1/conversations/${groupId}/messages`).send({ content: fakeEnvelope(['alice']) });
    expect(own.status).toBe(422);
    expect(own.body.error.code).toBe('missing_recipient_keys');
    expect((await alice.post(`/v1/conversations/${groupId}/messages`).send({ content: fakeEnvelope(members) })).body.error.code).toBe('conversation_frozen');
    // An id given in upper case is the same conversation, and its moderation state still applies.
    const upper = await alice.post(`/v1/conversations/${groupId.toUpperCase()}/messages`).send({ content: fakeEnvelope(members) });
    expect(upper.status).toBe(403);
    expect(upper.body.error.code).toBe('conversation_frozen');
    // Malformed id: 404, as before.
    expect((await request(t.url).post('/v1/conversations/not-an-id/messages').set('authorization', `Bearer ${await userToken(t, tenant, 'alice')}`).send({ content: fakeEnvelope(members) })).status).toBe(404);
  }, 60_000);
});
