/* The v2 send gate on two nodes of one database (and one Redis): what a commit, a group creation or a
 * removal taken through node A changes is what node B's send check answers at once, although node B
 * had just checked sends of the same group (its cached state warm). SDK clients over REST. */
import { ChatUserClient } from '@chat/sdk';
import * as mls from '../libs/sdk/src/mls';
import { createTestApp, TestApp } from './support/test-app';
import { expectApiError, rid, sdkTenant, SdkTenant } from './e2e-helpers';

jest.setTimeout(120_000);

const text = (r: mls.MlsReceivedMessage) => (r.kind === 'message' && r.payload.kind === 'text' ? r.payload.text : null);

describe('MLS send gate across two nodes', () => {
  let nodeA: TestApp;
  let nodeB: TestApp;
  let tenant: SdkTenant;
  beforeAll(async () => {
    nodeA = await createTestApp();
    nodeB = await createTestApp({ dbName: nodeA.dbName });
    tenant = await sdkTenant(nodeA);
  });
  afterAll(async () => {
    await nodeB?.close();
    await nodeA?.close();
  });

  /** Users created through node A; for each, a REST client on node A and one on node B. */
  async function users(ids: string[]): Promise<Record<string, { a: ChatUserClient; b: ChatUserClient }>> {
    const onA = await tenant.users(ids);
    const out: Record<string, { a: ChatUserClient; b: ChatUserClient }> = {};
    for (const id of ids) out[id] = { a: onA[id]!, b: new ChatUserClient({ baseUrl: nodeB.url, token: (await tenant.server.issueUserToken(id)).token }) };
    return out;
  }

  it('a commit accepted through node A makes node B refuse a send at the old epoch (409 epoch)', async () => {
    const [alice, bob] = [rid('alice'), rid('bob')];
    const u = await users([alice, bob]);
    const conv = await u[alice]!.a.createConversation({ type: 'group', name: 'nodes', member_ids: [bob] });
    const aliceChat = await mls.MlsChat.create({ client: u[alice]!.a, deviceId: 'phone' });
    const bobChat = await mls.MlsChat.create({ client: u[bob]!.b, deviceId: 'phone' });
    await aliceChat.open(conv.id);
    await bobChat.open(conv.id); // bob's external join is a commit through node B
    // Node B checks bob's sends at the current epoch (twice: the second one from its warm state).
    await bobChat.sendText(conv.id, 'warm 1');
    const warm = await bobChat.sendText(conv.id, 'warm 2');
    const before = (warm.content as unknown as mls.MlsMessageContent).epoch;

    // Alice commits through node A; bob's device has not seen it and seals at the old epoch.
    const groupId = aliceChat.groupId(conv.id)!;
    await aliceChat.sendText(conv.id, 'alice catches up with the join');
    const out = await aliceChat.mls.update(groupId);
    await u[alice]!.a.http.post(`/v1/conversations/${conv.id}/mls/commits`, {
      device_id: 'phone',
      commit: Buffer.from(out.commit).toString('base64'),
      group_info: Buffer.from(out.groupInfo).toString('base64'),
    });
    aliceChat.mls.mergePendingCommit(groupId);
    const stale = await bobChat.prepare(conv.id, { v: 1, kind: 'text', text: 'stale' });
    expect(stale.epoch).toBe(before);
    const refused = await expectApiError(u[bob]!.b.sendMessage(conv.id, { content: stale as never }), 409, 'conflict');
    expect(refused.details).toMatchObject({ reason: 'epoch', epoch: before + 1, group_id: groupId });

    // Bob's SDK catches up and node B takes the new epoch; alice reads it.
    const sent = await bobChat.sendText(conv.id, 'after the commit on node A');
    expect((sent.content as unknown as mls.MlsMessageContent).epoch).toBe(before + 1);
    expect(text(await aliceChat.receive(sent))).toBe('after the commit on node A');
  });

  it('a group created through node A is found by node B, which had just answered no_group', async () => {
    const [alice, bob] = [rid('alice'), rid('bob')];
    const u = await users([alice, bob]);
    const other = await u[alice]!.a.createConversation({ type: 'group', name: 'other', member_ids: [bob] });
    const conv = await u[alice]!.a.createConversation({ type: 'group', name: 'later', member_ids: [bob] });
    const bobChat = await mls.MlsChat.create({ client: u[bob]!.b, deviceId: 'phone' });
    const envelope = await bobChat.prepare(other.id, { v: 1, kind: 'text', text: 'elsewhere' });
    const none = await expectApiError(u[bob]!.b.sendMessage(conv.id, { content: envelope as never }), 409, 'conflict');
    expect(none.details).toMatchObject({ reason: 'no_group' });

    const aliceChat = await mls.MlsChat.create({ client: u[alice]!.a, deviceId: 'phone' });
    await aliceChat.open(conv.id);
    await bobChat.open(conv.id);
    // Prepared at the epoch bob joined at and sent as is (no SDK retry): node B must see the group.
    const first = await bobChat.prepare(conv.id, { v: 1, kind: 'text', text: 'first' });
    const sent = await u[bob]!.b.sendMessage(conv.id, { content: first as never });
    expect((sent.content as unknown as mls.MlsMessageContent).group_id).toBe(aliceChat.groupId(conv.id));
  });

  it('a member removed through node A: node B refuses their send, and the others\' until the removal is committed', async () => {
    const [alice, bob, carol] = [rid('alice'), rid('bob'), rid('carol')];
    const u = await users([alice, bob, carol]);
    const conv = await u[alice]!.a.createConversation({ type: 'group', name: 'rm-nodes', member_ids: [bob, carol] });
    const aliceChat = await mls.MlsChat.create({ client: u[alice]!.a, deviceId: 'phone' });
    const bobChat = await mls.MlsChat.create({ client: u[bob]!.b, deviceId: 'phone' });
    const carolChat = await mls.MlsChat.create({ client: u[carol]!.b, deviceId: 'phone' });
    for (const c of [aliceChat, bobChat, carolChat]) await c.open(conv.id);
    // Node B checks sends of bob and carol (warm), all at the current epoch.
    await bobChat.sendText(conv.id, 'bob before');
    await carolChat.sendText(conv.id, 'carol before');
    const bobRaw = await bobChat.prepare(conv.id, { v: 1, kind: 'text', text: 'too early' });
    const carolRaw = await carolChat.prepare(conv.id, { v: 1, kind: 'text', text: 'removed' });
    await u[bob]!.b.sendMessage(conv.id, { content: bobRaw as never });

    await tenant.server.removeMember(conv.id, carol); // the SaaS backend, through node A
    // Carol's own send through node B: she is no member any more.
    await expectApiError(u[carol]!.b.sendMessage(conv.id, { content: carolRaw as never }), 404, 'not_found');
    // Bob's, at the epoch node B just took from him: her leaf is still in the tree.
    const again = await bobChat.prepare(conv.id, { v: 1, kind: 'text', text: 'too early' });
    const pending = await expectApiError(u[bob]!.b.sendMessage(conv.id, { content: again as never }), 409, 'conflict');
    expect(pending.details).toMatchObject({ reason: 'membership_pending', remove_users: [carol], epoch: again.epoch });

    // Bob's SDK commits the removal through node B and retries; alice reads it, carol's device cannot.
    const after = await bobChat.sendText(conv.id, 'carol must not read this');
    expect(text(await aliceChat.receive(after))).toBe('carol must not read this');
    await expect(carolChat.receive(after)).rejects.toMatchObject({ reason: 'not_a_member_then' });
  });
});
