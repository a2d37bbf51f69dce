/* E2E v2 through the public interface: SDK devices (MlsChat over ChatUserClient, ChatSocket) against
 * the real app over HTTP and socket.io. One MLS group per conversation, bound at the server; the
 * server's membership drives it (members without devices, removals); commits and messages share the
 * conversation's seq stream. */
import { ChatSocket, type MessageView } from '@chat/sdk';
import * as mls from '../libs/sdk/src/mls';
import { OutboxSweeper } from '@chat/webhooks';
import { api } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';
import { WEBHOOK_TEST_ENV, WebhookReceiver } from './support/webhook-receiver';
import { waitFor } from './support/wait-for';
import { expectApiError, readStream, rid, sdkTenant, SdkTenant } from './e2e-helpers';

jest.setTimeout(120_000);

const text = (r: mls.MlsReceivedMessage) => (r.kind === 'message' && r.payload.kind === 'text' ? r.payload.text : null);

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof mls.MlsDecryptError) return err.reason;
    throw err;
  }
  throw new Error('expected a decrypt failure, but it decrypted');
}

describe('E2E v2 (MLS) through REST and socket.io', () => {
  let t: TestApp;
  let a: SdkTenant;
  let b: SdkTenant;
  const sockets: ChatSocket[] = [];
  beforeAll(async () => {
    t = await createTestApp({ env: { FILES_SWEEP_INTERVAL_SECONDS: '0', ...WEBHOOK_TEST_ENV } });
    [a, b] = [await sdkTenant(t), await sdkTenant(t)];
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await t?.close();
  });

  async function socketFor(tenant: SdkTenant, userId: string, convId: string): Promise<ChatSocket> {
    const s = new ChatSocket({ url: t.url, token: (await tenant.server.issueUserToken(userId)).token });
    sockets.push(s);
    await s.connect();
    s.track(convId, 0);
    return s;
  }

  it('a member added before any device reads what is sent after their device connects; nobody acts by hand', async () => {
    const [alice, bob, carol] = [rid('alice'), rid('bob'), rid('carol')];
    const users = await a.users([alice, bob, carol]);
    const conv = await users[alice]!.createConversation({ type: 'group', name: 'v2', member_ids: [bob] });
    const aliceChat = await mls.MlsChat.create({ client: users[alice]!, deviceId: 'phone' });
    const aliceSocket = await socketFor(a, alice, conv.id);

    // Bob has no device at all: sending never fails because of him (no per-recipient keys).
    const first = await aliceChat.sendText(conv.id, 'before bob has a device');
    expect(first.content).toMatchObject({ version: 2, algorithm: mls.V2_ALGORITHM, epoch: 1 });
    expect(first.content).not.toHaveProperty('encrypted_key');
    // The SaaS backend adds carol (no device either): still no failure.
    await a.server.addMembers(conv.id, [carol]);
    await aliceChat.sendText(conv.id, 'after carol was added');

    // Bob's device connects and opens the conversation: it joins by external commit, and every member sees it.
    const joinedSeen = aliceSocket.waitFor('conversation:device_joined', (e) => e.conversation_id === conv.id && e.user_id === bob, 30_000);
    const bobChat = await mls.MlsChat.create({ client: users[bob]!, deviceId: 'laptop' });
    const bobSocket = await socketFor(a, bob, conv.id);
    await bobChat.open(conv.id);
    expect(await joinedSeen).toMatchObject({ device_id: 'laptop', epoch: 2 });

    // Alice's next send meets the new epoch (409), catches up from the stream and retries, by itself.
    const hundred = 'x'.repeat(100);
    const bobGets = bobSocket.waitFor('message:new', (m) => m.conversation_id === conv.id && m.sender_id === alice && (m.content as { epoch?: number } | null)?.epoch === 2, 30_000);
    const third = await aliceChat.sendText(conv.id, hundred);
    expect(third.content).toMatchObject({ epoch: 2 });
    expect(Buffer.byteLength(JSON.stringify(third.content))).toBeLessThan(1024);
    expect(text(await bobChat.receive(await bobGets))).toBe(hundred);

    // Bob answers over the socket; Alice reads it.
    const ack = await mls.sendOverSocket(bobChat, bobSocket, conv.id, { v: 1, kind: 'text', text: 'hi from bob' });
    const fromBob = (await readStream(users[alice]!, conv.id)).find((m) => m.id === ack.id)!;
    expect(text(await aliceChat.receive(fromBob))).toBe('hi from bob');

    // The stream (sync and history) holds the join as a commit entry, and the earlier messages say why bob cannot read them.
    const bobView = await readStream(users[bob]!, conv.id);
    const join = bobView.find((m) => mls.isHandshakeContent(m.content) && (m.content as unknown as mls.MlsHandshakeContent).joined?.some((j) => j.user_id === bob));
    expect(join).toBeDefined();
    const early = bobView.find((m) => m.id === first.id)!;
    expect(await reason(bobChat.receive(early))).toBe('not_a_member_then');

    // Carol's device connects later: on its first connect the SDK opens every conversation; she reads what follows.
    const carolChat = await mls.MlsChat.create({ client: users[carol]!, deviceId: 'tablet' });
    expect(await mls.openAllConversations(carolChat)).toEqual([conv.id]);
    // Alice sends over the socket this time: her epoch is behind carol's join, the 409 comes as the ack, the SDK retries.
    const late = await mls.sendOverSocket(aliceChat, aliceSocket, conv.id, { v: 1, kind: 'text', text: 'for all three' });
    const carolView = (await readStream(users[carol]!, conv.id)).find((m) => m.id === late.id)!;
    expect(text(await carolChat.receive(carolView))).toBe('for all three');

    // Dave's device is online and follows the membership: the SaaS backend adds him, his device joins by itself.
    const dave = rid('dave');
    const daveClient = (await a.users([dave]))[dave]!;
    const daveChat = await mls.MlsChat.create({ client: daveClient, deviceId: 'watch' });
    const daveSocket = new ChatSocket({ url: t.url, token: (await a.server.issueUserToken(dave)).token });
    sockets.push(daveSocket);
    await daveSocket.connect();
    const errors: unknown[] = [];
    mls.followMembership(daveChat, daveSocket, (err) => errors.push(err));
    const daveJoined = aliceSocket.waitFor('conversation:device_joined', (e) => e.conversation_id === conv.id && e.user_id === dave, 30_000);
    await a.server.addMembers(conv.id, [dave]);
    expect(await daveJoined).toMatchObject({ device_id: 'watch' });
    const forDave = await aliceChat.sendText(conv.id, 'welcome dave');
    expect(text(await daveChat.receive((await readStream(daveClient, conv.id)).find((m) => m.id === forDave.id)!))).toBe('welcome dave');
    expect(errors).toEqual([]);
  });

  it("a removed member's devices cannot decrypt what is sent after the removal", async () => {
    const [alice, bob, carol] = [rid('alice'), rid('bob'), rid('carol')];
    const users = await a.users([alice, bob, carol]);
    const conv = await users[alice]!.createConversation({ type: 'group', name: 'rm', member_ids: [bob, carol] });
    const chats = {
      alice: await mls.MlsChat.create({ client: users[alice]!, deviceId: 'phone' }),
      bob: await mls.MlsChat.create({ client: users[bob]!, deviceId: 'phone' }),
      carol: await mls.MlsChat.create({ client: users[carol]!, deviceId: 'phone' }),
    };
    for (const c of Object.values(chats)) await c.open(conv.id);
    const before = await chats.alice.sendText(conv.id, 'carol may read this');
    expect(text(await chats.carol.receive((await readStream(users[carol]!, conv.id)).find((m) => m.id === before.id)!))).toBe('carol may read this');

    // The SaaS backend removes carol. Until a commit removes her devices, v2 sends are refused...
    await a.server.removeMember(conv.id, carol);
    const raw = await chats.bob.prepare(conv.id, { v: 1, kind: 'text', text: 'too early' });
    const pending = await expectApiError(users[bob]!.sendMessage(conv.id, { content: raw as never }), 409, 'conflict');
    expect(pending.details).toMatchObject({ reason: 'membership_pending', remove_users: [carol] });
    // ...and the SDK of the next sender commits the removal and retries.
    const after = await chats.bob.sendText(conv.id, 'carol must not read this');
    const epochAfter = (after.content as unknown as mls.MlsMessageContent).epoch;
    expect(epochAfter).toBeGreaterThan((before.content as unknown as mls.MlsMessageContent).epoch);
    expect(text(await chats.alice.receive(after))).toBe('carol must not read this');

    // Carol's device, even holding the envelope, has no key for that epoch.
    expect(await reason(chats.carol.receive(after))).toBe('not_a_member_then');
    expect(await chats.carol.keys.get(chats.carol.groupId(conv.id)!, BigInt(epochAfter))).toBeUndefined();
    await expectApiError(users[carol]!.history(conv.id), 404, 'not_found');
    await expectApiError(users[carol]!.http.get(`/v1/conversations/${conv.id}/mls`), 404, 'not_found');
  });

  it("an online member's SDK commits a removal on the socket's member:removed, before anyone sends", async () => {
    const [alice, bob, carol] = [rid('alice'), rid('bob'), rid('carol')];
    const users = await a.users([alice, bob, carol]);
    const conv = await users[alice]!.createConversation({ type: 'group', name: 'rm-event', member_ids: [bob, carol] });
    const [aliceChat, bobChat, carolChat] = await Promise.all(
      [alice, bob, carol].map((u) => mls.MlsChat.create({ client: users[u]!, deviceId: 'phone' })),
    );
    for (const c of [aliceChat, bobChat, carolChat]) await c.open(conv.id);
    const aliceSocket = await socketFor(a, alice, conv.id);
    const removedEvent = aliceSocket.waitFor('member:removed', (e) => e.conversation_id === conv.id, 30_000);
    await a.server.removeMember(conv.id, carol);
    const e = await removedEvent;
    await aliceChat.onMembersRemoved(e.conversation_id, e.user_ids);
    expect(aliceChat.mls.members(aliceChat.groupId(conv.id)!).map((m) => m.userId).sort()).toEqual([alice, bob].sort());
    // Nothing is pending any more: bob's stale envelope is refused for its epoch only, and his SDK catches up.
    const stale = await bobChat.prepare(conv.id, { v: 1, kind: 'text', text: 'stale' });
    const refused = await expectApiError(users[bob]!.sendMessage(conv.id, { content: stale as never }), 409, 'conflict');
    expect(refused.details).toMatchObject({ reason: 'epoch' });
    const sent = await bobChat.sendText(conv.id, 'after the event');
    expect(text(await aliceChat.receive(sent))).toBe('after the event');
    expect(await reason(carolChat.receive(sent))).toBe('not_a_member_then');
  });

  it('tampered ciphertext is refused by the SDK; replayed commits and commits from non-members by the server', async () => {
    const [alice, bob, eve] = [rid('alice'), rid('bob'), rid('eve')];
    const users = await a.users([alice, bob, eve]);
    const conv = await users[alice]!.createConversation({ type: 'group', name: 'tamper', member_ids: [bob] });
    const aliceChat = await mls.MlsChat.create({ client: users[alice]!, deviceId: 'phone' });
    const bobChat = await mls.MlsChat.create({ client: users[bob]!, deviceId: 'phone' });
    await aliceChat.open(conv.id);
    await bobChat.open(conv.id);
    const m = await aliceChat.sendText(conv.id, 'authentic');
    expect(text(await bobChat.receive(m))).toBe('authentic');

    const content = m.content as unknown as mls.MlsMessageContent;
    const data = Buffer.from(content.encrypted_data, 'base64');
    data[data.length - 1]! ^= 1;
    const flipped = { ...m, content: { ...content, encrypted_data: data.toString('base64') } } as unknown as MessageView;
    expect(await reason(bobChat.receive(flipped))).toBe('tampered');
    // Re-attributed to another sender, or re-typed: the binding and the signature fail.
    expect(await reason(bobChat.receive({ ...m, sender_id: bob }))).toBe('tampered');
    expect(await reason(bobChat.receive({ ...m, content: { ...content, type: 'file' } } as unknown as MessageView))).toBe('tampered');
    // An epoch no commit of the stream leads to.
    expect(await reason(bobChat.receive({ ...m, content: { ...content, epoch: 999 } } as unknown as MessageView))).toBe('unknown_epoch');

    // An envelope of this conversation's group posted to another conversation: 409 naming that conversation's group.
    const other = await users[alice]!.createConversation({ type: 'group', name: 'other', member_ids: [bob] });
    await aliceChat.open(other.id);
    const moved = await expectApiError(users[alice]!.sendMessage(other.id, { content: m.content as never }), 409, 'conflict');
    expect(moved.details).toMatchObject({ reason: 'group', group_id: aliceChat.groupId(other.id) });

    // A commit accepted once is refused when replayed (its epoch is gone).
    const groupId = bobChat.groupId(conv.id)!;
    const out = await bobChat.mls.update(groupId);
    const body = { device_id: 'phone', commit: Buffer.from(out.commit).toString('base64'), group_info: Buffer.from(out.groupInfo).toString('base64') };
    await users[bob]!.http.post(`/v1/conversations/${conv.id}/mls/commits`, body);
    bobChat.mls.mergePendingCommit(groupId);
    const replay = await expectApiError(users[bob]!.http.post(`/v1/conversations/${conv.id}/mls/commits`, body), 409, 'conflict');
    expect(replay.details).toMatchObject({ reason: 'epoch' });

    // Eve (same tenant, not a member) gets the 404 of a missing conversation, whatever she posts.
    const eveChat = await mls.MlsChat.create({ client: users[eve]!, deviceId: 'phone' });
    const group = await users[alice]!.http.get<{ group_info: string }>(`/v1/conversations/${conv.id}/mls`);
    const eveJoin = await eveChat.mls.joinExternal(Buffer.from(group.group_info, 'base64'));
    await expectApiError(
      users[eve]!.http.post(`/v1/conversations/${conv.id}/mls/commits`, {
        device_id: 'phone',
        commit: Buffer.from(eveJoin.commit).toString('base64'),
        group_info: Buffer.from(eveJoin.groupInfo).toString('base64'),
      }),
      404,
      'not_found',
    );
    await expectApiError(eveChat.sendText(conv.id, 'let me in'), 404, 'not_found');
    expect(await reason(eveChat.receive(m))).toBe('not_a_member_then');

    // Alice still sends (she catches up with bob's commit by herself) and bob reads it.
    const next = await aliceChat.sendText(conv.id, 'still fine');
    expect(text(await bobChat.receive(next))).toBe('still fine');
  });

  it('commits are applied by epoch, whatever order they reach a device in', async () => {
    const [alice, bob] = [rid('alice'), rid('bob')];
    const users = await a.users([alice, bob]);
    const conv = await users[alice]!.createConversation({ type: 'group', name: 'order', member_ids: [bob] });
    const aliceChat = await mls.MlsChat.create({ client: users[alice]!, deviceId: 'phone' });
    const bobChat = await mls.MlsChat.create({ client: users[bob]!, deviceId: 'phone' });
    await aliceChat.open(conv.id);
    await bobChat.open(conv.id);
    await aliceChat.sendText(conv.id, 'alice catches up with bob joining (epoch 2)');
    // Alice moves the group twice (two update commits), then sends at the newest epoch.
    const groupId = aliceChat.groupId(conv.id)!;
    for (let i = 0; i < 2; i++) {
      const out = await aliceChat.mls.update(groupId);
      await users[alice]!.http.post(`/v1/conversations/${conv.id}/mls/commits`, { device_id: 'phone', commit: Buffer.from(out.commit).toString('base64'), group_info: Buffer.from(out.groupInfo).toString('base64') });
      aliceChat.mls.mergePendingCommit(groupId);
    }
    const m = await aliceChat.sendText(conv.id, 'after two commits');
    const commits = (await readStream(users[bob]!, conv.id)).filter((x) => mls.isHandshakeContent(x.content)).slice(-2);
    // Bob gets the later commit first: it waits for the earlier one, then both apply.
    expect((await bobChat.receive(commits[1]!)).kind).toBe('handshake');
    expect(bobChat.epoch(conv.id)).toBe(2n);
    await bobChat.receive(commits[0]!);
    expect(bobChat.epoch(conv.id)).toBe(4n);
    expect(text(await bobChat.receive(m))).toBe('after two commits');
  });

  it('commits travel in the stream but are no messages for webhooks (no message.new), fast path or sweeper', async () => {
    const receiver = await new WebhookReceiver().start();
    try {
      const tenant = await sdkTenant(t);
      const ep = (await api(t, tenant.tenant).post('/v1/webhooks').send({ url: receiver.url, events: ['message.new'] }).expect(201)).body as { id: string };
      const [alice, bob] = [rid('alice'), rid('bob')];
      const users = await tenant.users([alice, bob]);
      const conv = await users[alice]!.createConversation({ type: 'group', name: 'hooks', member_ids: [bob] });
      const aliceChat = await mls.MlsChat.create({ client: users[alice]!, deviceId: 'phone' });
      const bobChat = await mls.MlsChat.create({ client: users[bob]!, deviceId: 'phone' });
      await aliceChat.open(conv.id);
      await bobChat.open(conv.id);
      const m = await aliceChat.sendText(conv.id, 'notify about me only');
      await waitFor(() => receiver.ofType('message.new').some((h) => h.body.data.message_id === m.id), 20_000, 'message.new of the message');
      const commits = (await readStream(users[alice]!, conv.id)).filter((x) => mls.isHandshakeContent(x.content)).map((x) => x.id);
      expect(commits).toHaveLength(2);
      // The sweeper (driven by hand here) finds nothing the fast path missed: commits are no events for it either.
      expect(await t.app.get(OutboxSweeper).sweep()).toBe(0);
      const recorded = JSON.stringify((await api(t, tenant.tenant).get(`/v1/webhooks/${ep.id}/deliveries`).query({ limit: 100 }).expect(200)).body);
      expect(recorded).toContain(m.id);
      for (const id of commits) expect(recorded).not.toContain(id);
    } finally {
      await receiver.stop();
    }
  });

  it('cross-tenant attempts on the Delivery Service and the v2 send path are refused', async () => {
    const [alice, bob] = [rid('alice'), rid('bob')];
    const usersA = await a.users([alice, bob]);
    const conv = await usersA[alice]!.createConversation({ type: 'group', name: 'iso', member_ids: [bob] });
    const aliceChat = await mls.MlsChat.create({ client: usersA[alice]!, deviceId: 'phone' });
    const sent = await aliceChat.sendText(conv.id, 'tenant a only');

    // A v2 envelope never carries a per-recipient key list: one that tries is refused.
    const withKeys = { ...(sent.content as object), encrypted_key: [{ user_id: bob, device_id: 'phone', key_version: 1, wrapped_key: 'AAAA' }] };
    await expectApiError(usersA[alice]!.sendMessage(conv.id, { content: withKeys as never }), 400, 'validation_failed');

    // Same external ids in tenant b: nothing of tenant a is reachable.
    const usersB = await b.users([alice]);
    const intruder = usersB[alice]!;
    await expectApiError(intruder.http.get(`/v1/conversations/${conv.id}/mls`), 404, 'not_found');
    await expectApiError(intruder.history(conv.id), 404, 'not_found');
    await expectApiError(intruder.sendMessage(conv.id, { content: sent.content as never }), 404, 'not_found');
    // A join commit built by a device of tenant a that is not a member, posted from tenant b.
    const mallory = rid('mallory');
    const malloryChat = await mls.MlsChat.create({ client: (await a.users([mallory]))[mallory]!, deviceId: 'phone' });
    const group = await usersA[alice]!.http.get<{ group_info: string }>(`/v1/conversations/${conv.id}/mls`);
    const join = await malloryChat.mls.joinExternal(Buffer.from(group.group_info, 'base64'));
    await expectApiError(
      intruder.http.post(`/v1/conversations/${conv.id}/mls/commits`, { device_id: 'phone', commit: Buffer.from(join.commit).toString('base64'), group_info: Buffer.from(join.groupInfo).toString('base64') }),
      404,
      'not_found',
    );
    // A tenant-b client does not even accept tenant a's group (its credentials name another tenant).
    const foreign = await mls.MlsChat.create({ client: intruder, deviceId: 'phone' });
    await expect(foreign.mls.joinExternal(Buffer.from(group.group_info, 'base64'))).rejects.toMatchObject({ code: 'REJECTED' });
    // A tenant-b conversation cannot borrow tenant a's group either.
    const own = await intruder.createConversation({ type: 'group', name: 'b', member_ids: [] });
    await expectApiError(intruder.sendMessage(own.id, { content: sent.content as never }), 409, 'conflict');
  });
});
