/* A conversation id written in upper case names the same conversation (ids are ObjectIds in hex, the
 * membership check accepts either case): sends, the MLS endpoints and the other routes and socket
 * events under such an id get the answers of the lower-case id, and what they store is stored under
 * the conversation's own id. Real app over HTTP and socket.io, SDK devices. */
import { ChatSocket } from '@chat/sdk';
import * as mls from '../libs/sdk/src/mls';
import { testAppPerSuite } from './support/test-app';
import { readStream, rid, sdkTenant, SdkTenant } from './e2e-helpers';
import { fakeEnvelope } from './chat-messages-helpers';

jest.setTimeout(120_000);

const text = (r: mls.MlsReceivedMessage) => (r.kind === 'message' && r.payload.kind === 'text' ? r.payload.text : null);

describe('a conversation id in upper case: sends and the MLS endpoints', () => {
  const t = testAppPerSuite();
  let a: SdkTenant;
  beforeAll(async () => {
    a = await sdkTenant(t);
  });

  it('a v2 send over REST and over the socket passes the group check and is stored under the conversation id', async () => {
    const [alice, bob] = [rid('alice'), rid('bob')];
    const users = await a.users([alice, bob]);
    const conv = await users[alice]!.createConversation({ type: 'group', name: 'upper', member_ids: [bob] });
    const upper = conv.id.toUpperCase();
    expect(upper).not.toBe(conv.id);
    const aliceChat = await mls.MlsChat.create({ client: users[alice]!, deviceId: 'phone' });
    const bobChat = await mls.MlsChat.create({ client: users[bob]!, deviceId: 'laptop' });
    // Bob's device makes the group, alice's joins it: alice seals at the group's current epoch.
    await bobChat.open(conv.id);
    await aliceChat.open(conv.id);

    // REST: the envelope is sealed for the conversation; only the id in the path is in upper case.
    const input = await aliceChat.prepareInput(conv.id, { v: 1, kind: 'text', text: 'over REST' });
    const sent = await users[alice]!.sendMessage(upper, input as never);
    expect(sent.conversation_id).toBe(conv.id);

    // Socket: the same for the socket's send.
    const socket = new ChatSocket({ url: t.url, token: (await a.server.issueUserToken(alice)).token });
    const ack = await socket
      .connect()
      .then(async () => socket.send(upper, (await aliceChat.prepareInput(conv.id, { v: 1, kind: 'text', text: 'over the socket' })) as never))
      .finally(() => socket.close());
    expect(ack.conversation_id).toBe(conv.id);

    // Both are in the conversation's stream, and bob reads them.
    const stream = await readStream(users[bob]!, conv.id);
    expect(text(await bobChat.receive(stream.find((m) => m.id === sent.id)!))).toBe('over REST');
    expect(text(await bobChat.receive(stream.find((m) => m.id === ack.id)!))).toBe('over the socket');
  });

  it('a v1 send is stored under the conversation id too', async () => {
    const [alice, bob] = [rid('alice'), rid('bob')];
    const users = await a.users([alice, bob]);
    const conv = await users[alice]!.createConversation({ type: 'group', name: 'upper-v1', member_ids: [bob] });
    const sent = await users[alice]!.sendMessage(conv.id.toUpperCase(), { content: fakeEnvelope([alice, bob]) } as never);
    expect(sent.conversation_id).toBe(conv.id);
    expect((await readStream(users[bob]!, conv.id)).map((m) => m.id)).toContain(sent.id);
  });

  it('the other routes and socket events under the upper-case id answer as under the conversation id', async () => {
    const [alice, bob] = [rid('alice'), rid('bob')];
    const users = await a.users([alice, bob]);
    const conv = await users[alice]!.createConversation({ type: 'group', name: 'upper-routes', member_ids: [bob] });
    const upper = conv.id.toUpperCase();
    const sent = await users[alice]!.sendMessage(conv.id, { content: fakeEnvelope([alice, bob]) } as never);
    const second = await users[alice]!.sendMessage(conv.id, { content: fakeEnvelope([alice, bob]) } as never);
    expect((await users[bob]!.history(upper, { after_seq: 0, limit: 10 })).data.map((m) => m.id)).toEqual([sent.id, second.id]);

    const socket = new ChatSocket({ url: t.url, token: (await a.server.issueUserToken(bob)).token });
    const [read, synced] = await socket
      .connect()
      .then(async () => [await socket.markRead(upper, sent.seq), await socket.sync([{ conversation_id: upper, after_seq: 0 }])] as const)
      .finally(() => socket.close());
    expect(read).toMatchObject({ conversation_id: conv.id, last_read_seq: sent.seq });
    expect(synced.conversations[0]!.messages!.map((m) => m.id)).toEqual([sent.id, second.id]);

    await users[alice]!.http.delete(`/v1/conversations/${upper}/messages/${second.id}`);
    expect((await users[bob]!.history(conv.id, { after_seq: 0, limit: 10 })).data.map((m) => m.deleted_at !== null)).toEqual([false, true]);
  });

  it("a group created by a commit under the upper-case id is the conversation's group: its Welcome, its state and the sends", async () => {
    const [alice, bob] = [rid('alice'), rid('bob')];
    const users = await a.users([alice, bob]);
    const conv = await users[alice]!.createConversation({ type: 'group', name: 'upper-commit', member_ids: [bob] });
    const upper = conv.id.toUpperCase();
    const bobDev = await mls.MlsDevice.connect(users[bob]!.http, 'laptop');
    await bobDev.publishKeyPackages(1);
    const aliceDev = await mls.MlsDevice.connect(users[alice]!.http, 'phone');

    // The commit (with its Welcome for bob's device) goes to the upper-case id.
    const groupId = await aliceDev.createGroup(upper, [bob]);
    expect(await bobDev.acceptWelcomes()).toEqual([conv.id]);
    for (const id of [conv.id, upper]) {
      expect(await users[alice]!.http.get(`/v1/conversations/${id}/mls`)).toMatchObject({ group_id: groupId, epoch: 1 });
    }

    // A device that opens the conversation under its id joins that group rather than making a second one.
    const carolChat = await mls.MlsChat.create({ client: users[alice]!, deviceId: 'tablet' });
    await carolChat.open(conv.id);
    expect(carolChat.groupId(conv.id)).toBe(groupId);
    const sent = await carolChat.sendText(conv.id, 'in the one group');
    expect(sent.conversation_id).toBe(conv.id);
    expect(await users[bob]!.http.get(`/v1/conversations/${upper}/mls`)).toMatchObject({ group_id: groupId, epoch: 2 });
  });
});
