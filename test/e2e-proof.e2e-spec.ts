/*
 * The end-to-end encryption proof. Two SDK clients chat through the real app over HTTP and socket.io
 * (text, an encrypted reaction, a thread reply, a file on S3); then every document of every collection
 * of the test database, every object in the bucket and every Redis value of the run is scanned for the
 * plaintexts, the file bytes and the secret keys. A non-member and the server (which holds all of that)
 * cannot decrypt; a member added later cannot read earlier messages until history is re-shared; key
 * rotation keeps old messages readable.
 */
import { randomBytes } from 'node:crypto';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { RedisService } from '@chat/redis';
import {
  bytesToBase64,
  bytesToHex,
  ChatSocket,
  CryptoError,
  createKeyring,
  decryptMessage,
  exportKeyring,
  keyringFromKeys,
  generateDeviceKeys,
  removeKeyVersions,
  type E2EChat,
  type EncryptedMessageContent,
  type MessagePayload,
  type MessageView,
} from '@chat/sdk';
import * as mls from '../libs/sdk/src/mls';
import { testS3Client } from './support/s3';
import { createTestApp, TestApp } from './support/test-app';
import { expectApiError, rid, sdkTenant, SdkTenant } from './e2e-helpers';

type FilePayload = Extract<MessagePayload, { kind: 'file' }>;

const cryptoCode = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    if (err instanceof CryptoError) return err.code;
    throw err;
  }
  return 'decrypted';
};

async function cryptoCodeAsync(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CryptoError) return err.code;
    throw err;
  }
  return 'decrypted';
}

/** Every string and byte string inside a BSON document (Binary, Buffer, nested arrays and objects). */
function* leaves(value: unknown): Generator<string | Uint8Array> {
  if (value === null || value === undefined) return;
  if (typeof value === 'string') {
    yield value;
    return;
  }
  if (value instanceof Uint8Array) {
    yield value;
    return;
  }
  if (typeof value !== 'object') return;
  const v = value as { _bsontype?: string; buffer?: Uint8Array; toHexString?: () => string };
  if (v._bsontype === 'Binary' && v.buffer) {
    yield v.buffer;
    return;
  }
  if (v._bsontype === 'ObjectId' || value instanceof Date) return;
  if (Array.isArray(value)) {
    for (const x of value) yield* leaves(x);
    return;
  }
  for (const [k, x] of Object.entries(value)) {
    yield k;
    yield* leaves(x);
  }
}

describe('E2E proof: the server stores, routes and pages messages without ever holding plaintext', () => {
  let t: TestApp;
  let a: SdkTenant;
  const ids = { alice: rid('alice'), bob: rid('bob'), carol: rid('carol'), dave: rid('dave') };
  let A: E2EChat, B: E2EChat, C: E2EChat, D: E2EChat;
  let sa: ChatSocket, sb: ChatSocket;
  let convId: string;
  const marker = randomBytes(6).toString('hex');
  const secret = {
    first: `The eagle lands at dawn zq${marker}first`,
    reply: `Copy that, bring the harbour maps zq${marker}reply`,
    emoji: '🦄',
    caption: `Blueprints of the vault zq${marker}caption`,
    fileName: `vault-plans-${marker}.pdf`,
    fileType: `application/x-vault-${marker}`,
    rotated: `Keys rotated, still talking zq${marker}rotated`,
    welcome: `Welcome aboard Dave zq${marker}welcome`,
    v2: `Group keys through MLS now zq${marker}v2`,
    v2Socket: `Same over the socket, v2 zq${marker}v2socket`,
    v1Before: `Sent as v1 before the switch zq${marker}v1before`,
  };
  const fileBytes = new Uint8Array(Buffer.concat([randomBytes(3000), Buffer.from(`FILE-BYTES-${marker}`), randomBytes(3000)]));
  const messages: Record<string, MessageView> = {};
  /** Secret material that must never reach the server: keyrings, conversation key, file key. */
  const secretKeys: Uint8Array[] = [];

  beforeAll(async () => {
    t = await createTestApp({ env: { FILES_SWEEP_INTERVAL_SECONDS: '0' } });
    a = await sdkTenant(t);
    const cs = await a.users(Object.values(ids));
    [A, B, C, D] = await Promise.all([
      a.device(ids.alice, cs[ids.alice]!, 'alice-phone'),
      a.device(ids.bob, cs[ids.bob]!, 'bob-laptop'),
      a.device(ids.carol, cs[ids.carol]!, 'carol-phone'),
      a.device(ids.dave, cs[ids.dave]!, 'dave-phone'),
    ]);
    const tokenOf = (id: string) => async () => (await a.server.issueUserToken(id)).token;
    sa = new ChatSocket({ url: t.url, token: tokenOf(ids.alice) });
    sb = new ChatSocket({ url: t.url, token: tokenOf(ids.bob) });
    await Promise.all([sa.connect(), sb.connect()]);
  });

  afterAll(async () => {
    sa?.close();
    sb?.close();
    await t?.close();
  });

  it('two SDK clients chat: text over socket.io, an encrypted reaction, a thread reply, a file on S3', async () => {
    const conv = await A.client.createConversation({ type: 'group', name: 'ops', member_ids: [ids.bob] });
    convId = conv.id;
    sb.track(convId, 0);

    // Alice sends over the socket; Bob gets it live and decrypts it (signature verified).
    const input = await A.prepareText(convId, secret.first);
    const live = sb.waitFor('message:new', (m) => m.client_msg_id === input.client_msg_id);
    const ack = await sa.send(convId, input);
    expect(ack).toMatchObject({ conversation_id: convId, seq: 1, duplicate: false });
    const first = await live;
    messages.first = first;
    const opened = await B.decrypt(first);
    expect(opened).toMatchObject({ payload: { kind: 'text', text: secret.first }, verified: true, viaKeyShare: false });

    // Bob reacts: the server stores an opaque token; Alice reads the emoji back.
    const reactionEvent = sa.waitFor('reaction:added', (e) => e.message_id === first.id);
    await B.react(convId, first.id, secret.emoji);
    expect((await reactionEvent).emoji).not.toContain(secret.emoji);
    expect(await A.reactions(await A.client.getMessage(convId, first.id))).toEqual([{ user_id: ids.bob, emoji: secret.emoji }]);

    // Bob replies in the thread (REST); Alice's socket delivers it.
    const replyEvent = sa.waitFor('message:new', (m) => m.thread.parent_id === first.id);
    messages.reply = await B.reply(convId, first.id, secret.reply);
    expect((await A.decrypt(await replyEvent)).payload).toEqual({ v: 1, kind: 'text', text: secret.reply });

    // Alice sends a file: encrypted client-side, uploaded straight to S3, key inside the message.
    const sent = await A.sendFile(convId, fileBytes, { name: secret.fileName, mimeType: secret.fileType, caption: secret.caption });
    messages.file = sent.message;
    const fileMsg = await B.decrypt(sent.message);
    const payload = fileMsg.payload as FilePayload;
    expect(payload).toMatchObject({ kind: 'file', file_id: sent.file.id, name: secret.fileName, mime_type: secret.fileType, caption: secret.caption, size: fileBytes.length });
    expect(Buffer.from(await B.downloadFile(convId, payload)).equals(Buffer.from(fileBytes))).toBe(true);
    secretKeys.push(Uint8Array.from(Buffer.from(payload.key, 'base64')));

    // The conversation list preview and blind-index search work for members.
    const view = await B.client.getConversation(convId);
    expect(await B.preview(convId, view.last_message!.content_preview)).toBe(secret.caption);
    expect((await B.search(convId, 'EAGLE lands')).map((m) => m.id)).toEqual([first.id]);
    expect(await B.search(convId, 'harbour')).toHaveLength(1);
    secretKeys.push((await A.conversationKey(convId)).key);
  });

  it('key rotation keeps old messages readable by their recipients', async () => {
    const before = B.keyring.current_version;
    await B.rotateKeys();
    expect(B.keyring.current_version).toBe(before + 1);
    // Alice's cached keys are stale: the server refuses (missing bob v2), the SDK refetches and retries.
    messages.rotated = await A.sendText(convId, secret.rotated);
    expect(messages.rotated.content!.encrypted_key.find((e) => e.user_id === ids.bob)).toMatchObject({ device_id: 'bob-laptop', key_version: before + 1 });
    expect((await B.decrypt(messages.rotated)).payload).toMatchObject({ text: secret.rotated });
    // The first message was wrapped for version 1, which Bob's keyring still holds.
    expect((await B.decrypt(messages.first)).payload).toMatchObject({ text: secret.first });
    // Removing the old version (forward secrecy on this device) is what makes it unreadable.
    const trimmed = removeKeyVersions(keyringFromKeys(B.keyring.keys.map((k) => ({ ...k, agreement: { ...k.agreement, secretKey: k.agreement.secretKey.slice() } }))), [before]);
    expect(
      cryptoCode(() =>
        decryptMessage({ content: messages.first.content!, conversationId: convId, senderId: ids.alice, myUserId: ids.bob, myDevice: trimmed }),
      ),
    ).toBe('UNKNOWN_KEY_VERSION');
    // Signatures of old messages still verify: the directory keeps every version.
    expect((await B.client.userKeys(ids.bob, 'all')).data.map((k) => k.key_version)).toEqual([1, 2]);
  });

  it('a member added later cannot read earlier messages until a member re-shares history', async () => {
    await A.client.addMembers(convId, [ids.dave]);
    for (const m of [messages.first, messages.reply, messages.file]) {
      expect(await cryptoCodeAsync(D.decrypt(m!))).toBe('NO_WRAPPED_KEY');
    }
    // Messages sent after joining are readable at once.
    const welcome = await A.sendText(convId, secret.welcome);
    messages.welcome = welcome;
    expect((await D.decrypt(welcome)).payload).toMatchObject({ text: secret.welcome });

    // Opt-in re-share: Alice re-wraps the earlier content keys (and the conversation key) for Dave.
    const shared = await A.shareHistory(convId, [ids.dave]);
    expect(shared).toBeGreaterThanOrEqual(4);
    const first = await D.decrypt(messages.first);
    expect(first).toMatchObject({ payload: { text: secret.first }, verified: true, viaKeyShare: true });
    expect((await D.decrypt(messages.reply)).payload).toMatchObject({ text: secret.reply });
    const file = (await D.decrypt(messages.file)).payload as FilePayload;
    expect(Buffer.from(await D.downloadFile(convId, file)).equals(Buffer.from(fileBytes))).toBe(true);
    expect(await D.reactions(await D.client.getMessage(convId, messages.first.id))).toEqual([{ user_id: ids.bob, emoji: secret.emoji }]);
  });

  it('a non-member cannot read, even holding the stored ciphertext', async () => {
    await expectApiError(C.client.history(convId), 404, 'not_found');
    await expectApiError(C.client.getMessage(convId, messages.first.id), 404, 'not_found');
    const fileId = ((await A.decrypt(messages.file)).payload as FilePayload).file_id;
    await expectApiError(C.client.downloadUrl(fileId), 404, 'not_found');
    // Given the envelope anyway (e.g. from a leaked backup): there is no key for Carol's device.
    expect(await cryptoCodeAsync(C.decrypt(messages.first))).toBe('NO_WRAPPED_KEY');
  });

  it('the server, holding every document, cannot decrypt a single message', async () => {
    const conn = t.app.get<Connection>(getConnectionToken());
    const docs = await conn.db!.collection('messages').find({ conversation_id: convId, content: { $ne: null } }).toArray();
    expect(docs.length).toBeGreaterThanOrEqual(5);
    for (const doc of docs) {
      const content = doc.content as EncryptedMessageContent;
      // The best the server can do: impersonate each recipient device with keys of its own.
      for (const entry of content.encrypted_key) {
        const forged = generateDeviceKeys({ deviceId: entry.device_id, keyVersion: entry.key_version });
        expect(
          cryptoCode(() => decryptMessage({ content, conversationId: convId, senderId: doc.sender_id as string, myUserId: entry.user_id, myDevice: forged })),
        ).toBe('AUTHENTICATION_FAILED');
      }
      // And with the key directory's public keys it has nothing secret at all.
      expect(cryptoCode(() => decryptMessage({ content, conversationId: convId, senderId: doc.sender_id as string, myUserId: 'server', myDevice: createKeyring('server') }))).toBe('NO_WRAPPED_KEY');
    }
  });

  it('E2E v2 (MLS): envelopes and commits carry no key list; the stored rows hold only ciphertext', async () => {
    const alice = await mls.MlsChat.create({ client: A.client, deviceId: 'alice-phone' });
    const bob = await mls.MlsChat.create({ client: B.client, deviceId: 'bob-laptop', v1: B });
    const conv = await A.client.createConversation({ type: 'group', name: 'v2', member_ids: [ids.bob] });
    // A v1 message stored before the switch stays readable; the server takes both versions side by side.
    const v1 = await A.sendText(conv.id, secret.v1Before);
    await alice.open(conv.id);
    await bob.open(conv.id);
    const viaRest = await alice.sendText(conv.id, secret.v2);
    const got = sb.waitFor('message:new', (m) => m.conversation_id === conv.id && m.sender_id === ids.alice && m.id !== viaRest.id, 30_000);
    sb.track(conv.id, 0);
    const ack = await sa.send(conv.id, (await alice.prepareInput(conv.id, { v: 1, kind: 'text', text: secret.v2Socket })) as never);
    const overSocket = await got;
    expect(overSocket.id).toBe(ack.id);
    const read = await bob.receive(overSocket);
    expect(read.kind === 'message' && read.payload.kind === 'text' && read.payload.text).toBe(secret.v2Socket);
    expect((await bob.receive(viaRest)).kind).toBe('message');
    const old = await bob.receive(v1);
    expect(old.kind === 'message' && old.epoch === null && old.payload.kind === 'text' && old.payload.text).toBe(secret.v1Before);

    // What the server stores: v2 envelopes without any per-recipient list, commits as stream entries.
    const conn = t.app.get<Connection>(getConnectionToken());
    const docs = await conn.db!.collection('messages').find({ conversation_id: conv.id }).toArray();
    const contents = docs.map((d) => d.content as Record<string, unknown>);
    expect(contents.filter((c) => c.type === 'mls_commit').length).toBeGreaterThanOrEqual(2);
    for (const c of contents.filter((x) => x.algorithm !== v1.content!.algorithm)) {
      expect(c).not.toHaveProperty('encrypted_key');
      expect(c.version).toBe(2);
    }
    // Previews, reactions and search tokens of v2 sends are keyed by the epoch (no conversation key).
    expect(viaRest.preview).toMatch(/^p2\./);
    const listed = (await B.client.listConversations()).data.find((c) => c.id === conv.id)!;
    expect(await bob.preview(conv.id, listed.last_message!.content_preview)).toBe(secret.v2Socket);
    await bob.react(viaRest, secret.emoji);
    expect(await alice.reactions(await A.client.getMessage(conv.id, viaRest.id))).toEqual([{ user_id: ids.bob, emoji: secret.emoji }]);
    expect((await bob.search(conv.id, 'MLS group keys')).map((m) => m.id)).toEqual([viaRest.id]);
    // The epoch keys (and the keys derived from them) never left the devices: the scan below looks for them too.
    for (const chat of [alice, bob]) {
      for (const e of await chat.keys.entries()) secretKeys.push(e.key, ...(['preview', 'reaction', 'search'] as const).map((p) => mls.derivePurposeKey(e.key, p)));
    }
  });

  it('no document, bucket object or cache value holds a plaintext, the file bytes or a secret key', async () => {
    for (const chat of [A, B, C, D]) {
      for (const k of exportKeyring(chat.keyring).keys) {
        secretKeys.push(Uint8Array.from(Buffer.from(k.agreement_secret_key, 'base64')));
        if (k.signing_secret_key) secretKeys.push(Uint8Array.from(Buffer.from(k.signing_secret_key, 'base64')));
      }
    }
    const needles: string[] = [...Object.values(secret), `zq${marker}`, `FILE-BYTES-${marker}`, marker];
    for (const s of Object.values(secret)) needles.push(Buffer.from(s).toString('base64'), Buffer.from(s).toString('hex'));
    for (const k of secretKeys) needles.push(bytesToBase64(k), bytesToHex(k), Buffer.from(k).toString('base64url'));
    const byteNeedles: Buffer[] = [Buffer.from(fileBytes.subarray(0, 64)), Buffer.from(fileBytes.subarray(3000, 3040)), ...secretKeys.map((k) => Buffer.from(k))];
    for (const s of Object.values(secret)) byteNeedles.push(Buffer.from(s));
    const hits: string[] = [];
    const check = (where: string, v: string | Uint8Array) => {
      if (typeof v === 'string') {
        for (const n of needles) if (v.includes(n)) hits.push(`${where}: contains ${JSON.stringify(n.slice(0, 40))}`);
        return;
      }
      const b = Buffer.from(v);
      for (const n of byteNeedles) if (b.indexOf(n) >= 0) hits.push(`${where}: contains secret bytes`);
      check(where, b.toString('utf8'));
    };

    // Canaries (a document and an object holding a plaintext and file bytes) prove the scan finds what it looks for.
    const conn = t.app.get<Connection>(getConnectionToken());
    await conn.db!.collection('proof_canary').insertOne({ nested: { list: [secret.first] }, bin: Buffer.from(fileBytes.subarray(0, 100)) });
    const canaryKey = `proof-canary/${randomBytes(4).toString('hex')}`;

    // Every document of every collection of this test database.
    const collections = await conn.db!.listCollections().toArray();
    let documents = 0;
    for (const { name } of collections) {
      const cursor = conn.db!.collection(name).find({});
      for await (const doc of cursor) {
        documents++;
        for (const leaf of leaves(doc)) check(`${name}/${String(doc._id)}`, leaf);
      }
    }
    expect(collections.map((c) => c.name)).toEqual(expect.arrayContaining(['messages', 'conversations', 'files', 'device_keys', 'conversation_keys', 'conversation_key_shares', 'message_key_shares']));
    expect(documents).toBeGreaterThan(20);

    // Every object in the bucket (paged listing).
    const s3 = testS3Client();
    await s3.send(new PutObjectCommand({ Bucket: process.env.S3_BUCKET, Key: canaryKey, Body: Buffer.from(fileBytes) }));
    let token: string | undefined;
    let objects = 0;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: process.env.S3_BUCKET, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        objects++;
        const body = await s3.send(new GetObjectCommand({ Bucket: process.env.S3_BUCKET, Key: o.Key }));
        check(`s3:${o.Key}`, await body.Body!.transformToByteArray());
        check(`s3-key:${o.Key}`, o.Key!);
      }
      token = page.NextContinuationToken;
    } while (token);
    await s3.send(new DeleteObjectCommand({ Bucket: process.env.S3_BUCKET, Key: canaryKey }));
    s3.destroy();
    expect(objects).toBeGreaterThanOrEqual(2);

    // Cache and presence values in Redis under this run's prefix (SCAN, never KEYS).
    const redis = t.app.get(RedisService);
    if (redis.client) {
      let cur = '0';
      do {
        const [next, keys] = await redis.client.scan(cur, 'MATCH', `${process.env.REDIS_KEY_PREFIX ?? ''}*`, 'COUNT', 500);
        cur = next;
        for (const key of keys) {
          const type = await redis.client.type(key);
          if (type === 'string') check(`redis:${key}`, (await redis.client.getBuffer(key)) ?? '');
          else if (type === 'hash') for (const v of Object.values(await redis.client.hgetall(key))) check(`redis:${key}`, v);
        }
      } while (cur !== '0');
    }
    await conn.db!.collection('proof_canary').drop();
    const canaryHits = hits.filter((h) => h.startsWith('proof_canary/') || h.startsWith(`s3:${canaryKey}`));
    expect(canaryHits.length).toBeGreaterThanOrEqual(3);
    expect(hits.filter((h) => !canaryHits.includes(h))).toEqual([]);
  });
});
