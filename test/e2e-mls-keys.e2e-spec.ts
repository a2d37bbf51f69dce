/* E2E v2 previews, reactions and search (MlsChat over REST and socket.io, real app): all keyed by MLS
 * epoch history keys, nothing wrapped per device. A member whose device joins after a message reads its
 * preview (shared visibility: the history bundle; a restored device: the key backup); a removed member
 * reads nothing made after the removal; reactions stay countable; search finds a word across two
 * epochs with a removal in between and never across conversations; no plaintext or key is stored. */
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { mongo } from 'mongoose';
import { ChatSocket, ChatUserClient, type MessageView } from '@chat/sdk';
import { bytesToHex } from '../libs/sdk/src/crypto/encoding';
import * as mls from '../libs/sdk/src/mls';
import { createTestApp, TestApp } from './support/test-app';
import { expectApiError, readStream, rid, sdkTenant, SdkTenant } from './e2e-helpers';

jest.setTimeout(180_000);

/** Applies every entry of the stream this device can read (commits, so joins and removals are seen). */
async function readAll(chat: mls.MlsChat, client: ChatUserClient, convId: string): Promise<string[]> {
  const out: string[] = [];
  for (const m of await readStream(client, convId)) {
    const r = await chat.receive(m).catch((err: unknown) => {
      if (err instanceof mls.MlsDecryptError) return null;
      throw err;
    });
    if (r?.kind === 'message' && r.payload.kind === 'text') out.push(r.payload.text);
  }
  return out;
}

const count = (rs: Array<{ emoji: string }>) => rs.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.emoji]: (acc[r.emoji] ?? 0) + 1 }), {});

describe('E2E v2 previews, reactions and search under epoch keys', () => {
  let t: TestApp;
  let a: SdkTenant;
  let other: SdkTenant;
  const sockets: ChatSocket[] = [];
  beforeAll(async () => {
    t = await createTestApp({ env: { FILES_SWEEP_INTERVAL_SECONDS: '0' } });
    [a, other] = [await sdkTenant(t), await sdkTenant(t)];
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await t?.close();
  });

  it('previews, reactions and search across a join, a removal and a restored device; nothing readable stored', async () => {
    const [alice, bob, carol] = [rid('alice'), rid('bob'), rid('carol')];
    const users = await a.users([alice, bob, carol]);
    const ctx = { tenantId: a.tenant.tenantId, userId: alice };
    const backup = new mls.KeyBackupClient(users[alice]!.http, ctx);
    const { backupKey, recoveryKey } = await backup.create({ recoveryKey: true });
    // Device ids sort so that Alice's phone is the member device that shares history on a join.
    const phone = await mls.MlsChat.create({ client: users[alice]!, deviceId: 'a-phone', history: { backup: { client: backup, backupKey } } });
    const conv = await users[alice]!.createConversation({ type: 'group', name: 'keys', member_ids: [bob, carol] });
    await phone.history.conversations.setVisibility(conv.id, 'shared');
    const laptop = await mls.MlsChat.create({ client: users[bob]!, deviceId: 'b-laptop' });
    await laptop.open(conv.id);

    // 1. A send carries a v2 preview and tokens of its epoch; the list shows it to Bob, carol has no device yet.
    const first = await phone.sendText(conv.id, 'Hello harbour eagle');
    const firstEpoch = (first.content as unknown as mls.MlsMessageContent).epoch;
    expect(first.preview).toMatch(new RegExp(`^p2\\.${phone.groupId(conv.id)}\\.${firstEpoch}\\.`));
    const listed = async (client: ChatUserClient) => (await client.listConversations()).data.find((c) => c.id === conv.id)!.last_message!.content_preview;
    expect(await laptop.preview(conv.id, await listed(users[bob]!))).toBe('Hello harbour eagle');

    // 2. Carol's device joins after the message: Alice's phone sees the join and shares the earlier keys (shared).
    const tab = await mls.MlsChat.create({ client: users[carol]!, deviceId: 'c-tab' });
    await tab.open(conv.id);
    await readAll(phone, users[alice]!, conv.id);
    expect(tab.epoch(conv.id)! > BigInt(firstEpoch)).toBe(true);
    expect(await tab.preview(conv.id, await listed(users[carol]!))).toBe('Hello harbour eagle');

    // 3. Reactions under the key of the message's epoch: equal emoji countable by the server, readable by members.
    await laptop.react(first, '👍');
    await tab.react(first, '👍');
    let reacted = await phone.react(first, '🎉');
    const tokens = reacted.reactions.map((r) => r.emoji);
    expect(tokens.every((e) => /^r2[A-Za-z0-9_-]+$/.test(e) && e.length <= 64)).toBe(true);
    expect(new Set(tokens).size).toBe(2); // the two 👍 are one token
    expect(count(await tab.reactions(reacted))).toEqual({ '👍': 2, '🎉': 1 });
    reacted = await tab.unreact(first, '👍');
    expect(count(await laptop.reactions(reacted))).toEqual({ '👍': 1, '🎉': 1 });

    // 4. Bob is removed; Alice's next send commits the removal (a new epoch) and is made under its keys.
    await users[alice]!.removeMember(conv.id, bob);
    const second = await phone.sendText(conv.id, 'Secret harbour plans');
    const secondEpoch = (second.content as unknown as mls.MlsMessageContent).epoch;
    expect(secondEpoch).toBeGreaterThan(firstEpoch);
    expect((await users[bob]!.listConversations()).data.map((c) => c.id)).not.toContain(conv.id);
    // Bob's device, given what the server stores, opens nothing made after the removal.
    expect(await laptop.preview(conv.id, second.preview)).toBeNull();
    const bobsKeys = await mls.allEpochKeys(laptop.keys);
    expect(bobsKeys.some((e) => e.epoch >= BigInt(secondEpoch))).toBe(false);
    for (const e of bobsKeys) expect(() => mls.decryptPreviewV2(second.preview!, e.key, { tenantId: a.tenant.tenantId, conversationId: conv.id })).toThrow();
    await expect(laptop.react(second, '👍')).rejects.toMatchObject({ reason: 'not_a_member_then' });
    // Carol reads it (preview and reactions of the new epoch).
    expect(await tab.preview(conv.id, await listed(users[carol]!))).toBe('Secret harbour plans');
    expect(count(await phone.reactions(await tab.react(second, '🔥')))).toEqual({ '🔥': 1 });

    // 5. A message over the socket carries its preview and tokens too.
    const socket = new ChatSocket({ url: t.url, token: (await a.server.issueUserToken(carol)).token });
    sockets.push(socket);
    await socket.connect();
    const ack = await mls.sendOverSocket(tab, socket, conv.id, { v: 1, kind: 'text', text: 'harbour by socket' });
    const bySocket = await users[alice]!.getMessage(conv.id, ack.id);
    expect(await phone.preview(conv.id, bySocket.preview)).toBe('harbour by socket');

    // 6. Search: one word across both epochs (the removal between them); all words, one epoch.
    const ids = (ms: MessageView[]) => ms.map((m) => m.id);
    expect(ids(await tab.search(conv.id, 'HARBOUR'))).toEqual([ack.id, second.id, first.id]);
    expect(ids(await phone.search(conv.id, 'harbour plans'))).toEqual([second.id]);
    expect(ids(await tab.search(conv.id, 'eagle'))).toEqual([first.id]);
    expect(await tab.search(conv.id, 'falcon')).toEqual([]);
    // Another conversation with the same words: not found from here, and its tokens share nothing with these.
    const conv2 = await users[alice]!.createConversation({ type: 'group', name: 'other', member_ids: [carol] });
    const elsewhere = await phone.sendText(conv2.id, 'Hello harbour eagle');
    expect(ids(await phone.search(conv.id, 'harbour'))).not.toContain(elsewhere.id);
    expect(ids(await phone.search(conv2.id, 'harbour'))).toEqual([elsewhere.id]);
    const conn = t.app.get<Connection>(getConnectionToken());
    const stored = async (id: string) => ((await conn.db!.collection('messages').findOne({ _id: new mongo.ObjectId(id) }))!.search_tokens as string[]);
    const [t1, t2, t3] = [await stored(first.id), await stored(second.id), await stored(elsewhere.id)];
    expect(t1).toHaveLength(3);
    expect(t1.filter((x) => t2.includes(x) || t3.includes(x))).toEqual([]); // "harbour": unrelated tokens per epoch and conversation
    // Bob, removed, cannot search; nor can another tenant's user, whatever they send.
    const probe = { token_sets: [{ tokens: t2 }] };
    await expectApiError(users[bob]!.http.post(`/v1/conversations/${conv.id}/messages/search`, probe), 404, 'not_found');
    const [mallory] = [rid('mallory')];
    const otherUsers = await other.users([mallory]);
    await expectApiError(otherUsers[mallory]!.http.post(`/v1/conversations/${conv.id}/messages/search`, probe), 404, 'not_found');

    // 7. Alice's new device, restored from the key backup, reads previews, reactions and search of both epochs.
    const restored = new mls.InMemoryEpochKeyStore();
    await new mls.KeyBackupClient(users[alice]!.http, ctx).restore({ recoveryKey: recoveryKey! }, restored);
    const tablet = await mls.MlsChat.create({ client: users[alice]!, deviceId: 'z-tablet', keys: restored });
    expect(await tablet.preview(conv.id, first.preview)).toBe('Hello harbour eagle');
    expect(await tablet.preview(conv.id, await listed(users[alice]!))).toBe('harbour by socket');
    expect(count(await tablet.reactions(await users[alice]!.getMessage(conv.id, first.id)))).toEqual({ '👍': 1, '🎉': 1 });
    expect(ids(await tablet.search(conv.id, 'harbour'))).toEqual([ack.id, second.id, first.id]);

    // 8. No plaintext and no key in the store: texts, emoji, epoch keys and the keys derived from them (raw, base64, hex).
    const texts = ['Hello harbour eagle', 'Secret harbour plans', 'harbour by socket'];
    // An emoji alone is 4 bytes (random bytes hold those by chance): look for it as a whole BSON string value.
    const emoji = ['👍', '🎉', '🔥'].map((e) => {
      const b = Buffer.from(e);
      const len = Buffer.alloc(4);
      len.writeInt32LE(b.length + 1);
      return Buffer.concat([len, b, Buffer.from([0])]);
    });
    const keys = (await mls.allEpochKeys(restored)).flatMap((e) => [e.key, ...(['preview', 'reaction', 'search'] as const).map((p) => mls.derivePurposeKey(e.key, p))]);
    expect(keys.length).toBeGreaterThanOrEqual(12);
    const needles = [
      ...texts.flatMap((s) => [Buffer.from(s), Buffer.from(Buffer.from(s).toString('base64'))]),
      ...emoji,
      ...keys.flatMap((k) => [Buffer.from(k), Buffer.from(Buffer.from(k).toString('base64')), Buffer.from(bytesToHex(k))]),
    ];
    await conn.db!.collection('zz_canary').insertOne({ nested: { text: texts[0] } });
    let scanned = 0;
    const hits: string[] = [];
    for (const { name } of await conn.db!.listCollections().toArray()) {
      for (const doc of await conn.db!.collection(name).find({}).toArray()) {
        const bytes = Buffer.from(mongo.BSON.serialize(doc));
        scanned++;
        needles.forEach((n, i) => {
          if (bytes.includes(n)) hits.push(`${name}/${String(doc._id)}: needle ${i}`);
        });
      }
    }
    await conn.db!.collection('zz_canary').drop();
    expect(scanned).toBeGreaterThan(10);
    expect(hits.filter((h) => h.startsWith('zz_canary/')).length).toBeGreaterThan(0); // the scan finds what is there
    expect(hits.filter((h) => !h.startsWith('zz_canary/'))).toEqual([]);
  });

  it('the server takes the v2 forms and refuses malformed ones (400 in the one error shape), v1 forms still accepted', async () => {
    const [alice, bob] = [rid('alice'), rid('bob')];
    const users = await a.users([alice, bob]);
    const conv = await users[alice]!.createConversation({ type: 'group', name: 'shape', member_ids: [bob] });
    const url = `/v1/conversations/${conv.id}/messages/search`;
    const tok = (n: number) => Array.from({ length: n }, (_, i) => `tok${String(i).padStart(8, '0')}`);
    // v1 (one set) and v2 (up to 32 sets of up to 16 tokens) are answered.
    expect((await users[alice]!.http.post<{ data: unknown[] }>(url, { tokens: tok(16) })).data).toEqual([]);
    expect((await users[alice]!.http.post<{ data: unknown[] }>(url, { token_sets: Array.from({ length: 32 }, () => ({ tokens: tok(16) })) })).data).toEqual([]);
    await expectApiError(users[alice]!.http.post(url, { token_sets: Array.from({ length: 33 }, () => ({ tokens: tok(1) })) }), 400, 'validation_failed');
    await expectApiError(users[alice]!.http.post(url, { token_sets: [{ tokens: tok(17) }] }), 400, 'validation_failed');
    await expectApiError(users[alice]!.http.post(url, { token_sets: [{ tokens: [] }] }), 400, 'validation_failed');
    await expectApiError(users[alice]!.http.post(url, { token_sets: [{ tokens: ['bad token!'] }] }), 400, 'validation_failed');
    await expectApiError(users[alice]!.http.post(url, { tokens: tok(1), token_sets: [{ tokens: tok(1) }] }), 400, 'validation_failed');
    await expectApiError(users[alice]!.http.post(url, {}), 400, 'validation_failed');

    // Previews: v2 "p2.<group>.<epoch>.<base64>" and v1 base64 are stored; anything else is refused.
    const phone = await mls.MlsChat.create({ client: users[alice]!, deviceId: 'phone' });
    const input = await phone.prepareInput(conv.id, { v: 1, kind: 'text', text: 'shape' });
    const send = (preview: string) => users[alice]!.sendMessage(conv.id, { content: input.content, preview } as never);
    expect((await send(input.preview!)).preview).toBe(input.preview);
    expect((await send('AAAAAAAA')).preview).toBe('AAAAAAAA');
    for (const bad of ['p2.XYZ.1.AAAA', 'p2.ab.one.AAAA', 'p2.ab.1.AAA', 'p3.ab.1.AAAA', 'p2.ab.1.AAAA.extra']) {
      await expectApiError(send(bad), 400, 'validation_failed');
    }
  });
});
