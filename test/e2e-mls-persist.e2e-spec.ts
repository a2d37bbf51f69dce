/* MLS state that survives a restart, through the public interface: an SDK device (MlsChat over
 * ChatUserClient and ChatSocket) with an MlsStateStore is "restarted" — a new MlsChat over the same
 * store, with a new REST client and socket — and goes on in the same group: it reads what others send,
 * sends, follows later commits, and reads its earlier history from the stored epoch keys, without
 * joining again (no external commit: no `conversation:device_joined`, the server's epoch unmoved).
 * A key package published before a restart is used by a Welcome after it. */
import { ChatSocket, ChatUserClient, type MessageView } from '@chat/sdk';
import * as mls from '../libs/sdk/src/mls';
import { createTestApp, TestApp } from './support/test-app';
import { readStream, rid, sdkTenant, SdkTenant } from './e2e-helpers';

jest.setTimeout(120_000);

const text = (r: mls.MlsReceivedMessage) => (r.kind === 'message' && r.payload.kind === 'text' ? r.payload.text : null);
const epochOf = (m: MessageView) => (m.content as unknown as mls.MlsMessageContent).epoch;

describe('MLS state store: a restarted device goes on in its groups', () => {
  let t: TestApp;
  let a: SdkTenant;
  const sockets: ChatSocket[] = [];
  beforeAll(async () => {
    t = await createTestApp();
    a = await sdkTenant(t);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await t?.close();
  });

  async function socketFor(userId: string, convId: string): Promise<ChatSocket> {
    const s = new ChatSocket({ url: t.url, token: (await a.server.issueUserToken(userId)).token });
    sockets.push(s);
    await s.connect();
    s.track(convId, 0);
    return s;
  }

  /** A new REST client for the user (what a restarted process makes). */
  const freshClient = async (userId: string) => new ChatUserClient({ baseUrl: t.url, token: (await a.server.issueUserToken(userId)).token });


  const serverEpoch = async (client: ChatUserClient, convId: string) => (await client.http.get<{ epoch: number }>(`/v1/conversations/${convId}/mls`)).epoch;

  it('reads and sends after a restart without rejoining, follows later commits, and reads its earlier history', async () => {
    const [alice, bob, carol] = [rid('alice'), rid('bob'), rid('carol')];
    const users = await a.users([alice, bob, carol]);
    const conv = await users[alice]!.createConversation({ type: 'group', name: 'persist', member_ids: [bob, carol] });
    const store = new mls.InMemoryMlsStateStore();
    let aliceChat = await mls.MlsChat.create({ client: users[alice]!, deviceId: 'phone', store });
    const bobChat = await mls.MlsChat.create({ client: users[bob]!, deviceId: 'laptop' });
    const carolChat = await mls.MlsChat.create({ client: users[carol]!, deviceId: 'tablet' });
    await aliceChat.open(conv.id);
    await bobChat.open(conv.id);
    const earlier = [await aliceChat.sendText(conv.id, 'one, from alice'), await bobChat.sendText(conv.id, 'two, from bob')];
    expect(text(await aliceChat.receive(earlier[1]!))).toBe('two, from bob');
    await carolChat.open(conv.id); // a commit: the group moves on
    earlier.push(await aliceChat.sendText(conv.id, 'three, after carol joined'));
    expect(new Set(earlier.map(epochOf)).size).toBe(2);
    const groupId = aliceChat.groupId(conv.id)!;
    const epochBefore = aliceChat.epoch(conv.id)!;
    expect(await serverEpoch(users[alice]!, conv.id)).toBe(Number(epochBefore));

    // The restart: nothing of the old objects is used again but the store.
    const bobSocket = await socketFor(bob, conv.id);
    const joins: unknown[] = [];
    bobSocket.on('conversation:device_joined', (e) => {
      if (e.user_id === alice) joins.push(e);
    });
    const aliceClient = await freshClient(alice);
    aliceChat = await mls.MlsChat.create({ client: aliceClient, deviceId: 'phone', store });
    const aliceSocket = await socketFor(alice, conv.id);
    expect(aliceChat.groupId(conv.id)).toBe(groupId);
    expect(aliceChat.epoch(conv.id)).toBe(epochBefore);

    // Reads what bob sends now, and sends over REST and the socket: same group, same epoch, no join.
    const fromBob = await bobChat.sendText(conv.id, 'four, from bob');
    expect(text(await aliceChat.receive(fromBob))).toBe('four, from bob');
    const lastSeq = (await readStream(users[bob]!, conv.id)).at(-1)!.seq; // the socket's sync replays what came before
    const bobGets = bobSocket.waitFor('message:new', (m) => m.conversation_id === conv.id && m.sender_id === alice && m.seq > lastSeq, 30_000);
    const ack = await mls.sendOverSocket(aliceChat, aliceSocket, conv.id, { v: 1, kind: 'text', text: 'five, after my restart' });
    const five = await bobGets;
    expect(five.id).toBe(ack.id);
    expect(epochOf(five)).toBe(Number(epochBefore));
    expect(text(await bobChat.receive(five))).toBe('five, after my restart');
    expect(joins).toEqual([]); // the socket delivers in order: a join by alice would have come before her message
    expect(await serverEpoch(aliceClient, conv.id)).toBe(Number(epochBefore));

    // Later commits apply to the restored state: carol is removed, bob's SDK commits it, alice follows.
    await a.server.removeMember(conv.id, carol);
    const afterRemoval = await bobChat.sendText(conv.id, 'six, carol is gone');
    expect(epochOf(afterRemoval)).toBe(Number(epochBefore) + 1);
    expect(text(await aliceChat.receive(afterRemoval))).toBe('six, carol is gone');
    expect(aliceChat.mls.members(groupId).map((m) => m.userId).sort()).toEqual([alice, bob].sort());

    // Its earlier history (three epochs' keys, and the rosters that verify their senders) came from the store.
    const history = await readStream(aliceClient, conv.id);
    const readable: string[] = [];
    for (const m of history) {
      if (!mls.isV2Content(m.content) && !mls.isHandshakeContent(m.content)) continue; // system messages
      const r = await aliceChat.receive(m);
      if (r.kind === 'message') readable.push(text(r)!);
    }
    expect(readable).toEqual(['one, from alice', 'two, from bob', 'three, after carol joined', 'four, from bob', 'five, after my restart', 'six, carol is gone']);

    // And once more: a second restart picks up the epoch the removal reached.
    const again = await mls.MlsChat.create({ client: await freshClient(alice), deviceId: 'phone', store });
    expect(again.epoch(conv.id)).toBe(epochBefore + 1n);
    const seven = await again.sendText(conv.id, 'seven');
    expect(epochOf(seven)).toBe(Number(epochBefore) + 1);
    expect(text(await bobChat.receive(seven))).toBe('seven');
    expect(joins).toEqual([]);
  });

  it('a device whose store is lost rejoins by external commit (a join every member sees)', async () => {
    const [alice, bob] = [rid('alice'), rid('bob')];
    const users = await a.users([alice, bob]);
    const conv = await users[alice]!.createConversation({ type: 'group', name: 'lost', member_ids: [bob] });
    const aliceChat = await mls.MlsChat.create({ client: users[alice]!, deviceId: 'phone' });
    await aliceChat.open(conv.id);
    const bobChat = await mls.MlsChat.create({ client: users[bob]!, deviceId: 'laptop', store: new mls.InMemoryMlsStateStore() });
    await bobChat.open(conv.id);
    const before = await serverEpoch(users[alice]!, conv.id);
    const aliceSocket = await socketFor(alice, conv.id);
    const rejoined = aliceSocket.waitFor('conversation:device_joined', (e) => e.conversation_id === conv.id && e.user_id === bob, 30_000);
    const lost = await mls.MlsChat.create({ client: await freshClient(bob), deviceId: 'laptop', store: new mls.InMemoryMlsStateStore() });
    expect(lost.groupId(conv.id)).toBeUndefined();
    const sent = await lost.sendText(conv.id, 'back, with a new leaf');
    expect(await rejoined).toMatchObject({ device_id: 'laptop', epoch: before + 1 });
    expect(text(await aliceChat.receive(sent))).toBe('back, with a new leaf');
  });

  it('a key package published before a restart is used by a Welcome after it', async () => {
    const [alice, bob] = [rid('alice'), rid('bob')];
    const users = await a.users([alice, bob]);
    const store = new mls.InMemoryMlsStateStore();
    const published = await mls.MlsDevice.connect(users[bob]!.http, 'laptop', { store });
    expect(await published.publishKeyPackages(2)).toMatchObject({ one_time: 2 });
    const bobDev = await mls.MlsDevice.connect((await freshClient(bob)).http, 'laptop', { store }); // restarted
    expect(bobDev.client.unusedKeyPackages).toBe(2);

    const conv = await users[alice]!.createConversation({ type: 'group', name: 'welcome', member_ids: [bob] });
    const aliceDev = await mls.MlsDevice.connect(users[alice]!.http, 'phone');
    const groupId = await aliceDev.createGroup(conv.id, [bob]);
    expect(await bobDev.acceptWelcomes()).toEqual([conv.id]);
    expect(bobDev.client.epoch(groupId)).toBe(1n);
    expect(bobDev.client.unusedKeyPackages).toBe(1);
    expect(await store.keys('kp/')).toHaveLength(1); // the spent one's private keys are gone from the store too
    await aliceDev.send(conv.id, 'welcome after a restart');
    expect((await bobDev.sync(conv.id)).map((m) => m.text)).toEqual(['welcome after a restart']);
  });
});
