/* Two gateway processes over one FerretDB: this jest process's app (node A) and the all-in-one entry as
 * a child process (node B). FerretDB applies an update as read, change, write back with nothing around
 * the two, so two processes reserving seqs of one conversation at once would hand out the same seq
 * unless the per-document lock holds across processes (a Redis lease). The test starts its own FerretDB
 * (on PostgreSQL when one answers, as the embedded start does), whatever store the run uses. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { mongo } from 'mongoose';
import request from 'supertest';
import { ferretDbAvailable, findFreePort, RunningFerretDbWithBackend, startEmbeddedFerretDb, stopAndDropFerretDb, waitForPort } from '@chat/dev-services';
import { AppProcess, spawnAllInOne } from './support/app-process';
import { TEST_PLATFORM_ENV } from './support/factories';
import { askOk, closeAllSockets, connectSocket, createRealtimeTenant, envelope, TestSocket, waitFor } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';

jest.setTimeout(180_000);

const CONVERSATIONS = 3;
const SENDS_PER_SOCKET = 12;

// FerretDB is built from source: on a machine with neither the binary nor Go (a mongod run) this is skipped.
(ferretDbAvailable() ? describe : describe.skip)('two processes over one FerretDB (cross-process document lock)', () => {
  let ferret: RunningFerretDbWithBackend;
  let a: TestApp;
  let b: AppProcess;
  let bUrl: string;

  beforeAll(async () => {
    const tag = randomBytes(3).toString('hex');
    ferret = await startEmbeddedFerretDb({
      dataDir: join(process.env.CHAT_TEST_TMP!, `ferretdb-2p-${tag}`),
      database: `chat_test_2p_${process.pid}_${tag}`,
      reuse: false,
      log: () => undefined,
    });
    a = await createTestApp({ env: { MONGODB_URI: ferret.uri } });
    const port = await findFreePort();
    b = spawnAllInOne({ ...TEST_PLATFORM_ENV, MONGODB_URI: ferret.uri, MONGODB_DB: a.dbName, PORT: String(port), HOST: '127.0.0.1' });
    bUrl = `http://127.0.0.1:${port}`;
    await waitForPort(port, '127.0.0.1', 120_000, () => b.child.exitCode === null).catch((err) => {
      throw new Error(`node B did not listen: ${(err as Error).message}\n${b.stdout()}${b.stderr()}`);
    });
    await waitFor(async () => (await request(bUrl).get('/health/ready')).status === 200, 30_000, 'node B ready');
  });
  afterAll(async () => {
    closeAllSockets();
    if (b && b.child.exitCode === null) {
      b.child.kill('SIGTERM');
      await b.exited;
    }
    await a?.close();
    if (ferret) await stopAndDropFerretDb(ferret);
  });

  it('concurrent sends to the same conversations from both processes get unique, gap-free seqs', async () => {
    const w = await createRealtimeTenant(a.app);
    const members = ['u1', 'u2', 'u3', 'u4'];
    const convs: string[] = [];
    for (let i = 0; i < CONVERSATIONS; i++) convs.push(await w.group(members));
    // Every member sends from its own socket: u1, u2 through A and u3, u4 through B.
    const sockets: TestSocket[] = [];
    for (const [i, u] of members.entries()) sockets.push(await connectSocket(i < 2 ? a.url : bUrl, await w.token(u)));

    const acks = await Promise.all(
      sockets.flatMap((s, si) =>
        convs.flatMap((conv) =>
          Array.from({ length: SENDS_PER_SOCKET }, (_, k) =>
            askOk<{ seq: number }>(s, 'message:send', { conversation_id: conv, client_msg_id: `s${si}-${k}`, content: envelope(members) }, 60_000).then((m) => ({ conv, seq: m.seq })),
          ),
        ),
      ),
    );

    const perConv = members.length * SENDS_PER_SOCKET;
    const expected = Array.from({ length: perConv }, (_, i) => i + 1);
    const client = await mongo.MongoClient.connect(ferret.uri);
    try {
      const messages = client.db(a.dbName).collection('messages');
      const conversations = client.db(a.dbName).collection('conversations');
      for (const conv of convs) {
        expect(acks.filter((x) => x.conv === conv).map((x) => x.seq).sort((x, y) => x - y)).toEqual(expected);
        const stored = await messages.find({ tenant_id: w.tenantId, conversation_id: conv }, { projection: { seq: 1 } }).toArray();
        expect(stored.map((m) => m.seq as number).sort((x, y) => x - y)).toEqual(expected);
        // last_seq (the durable mark) is written after the acks, with last_message (docs/life-of-a-message.md, step 5).
        await waitFor(async () => (await conversations.findOne({ _id: new mongo.ObjectId(conv) }))?.last_seq === perConv, 30_000, 'last_seq written after the acks').catch(() => undefined);
        expect((await conversations.findOne({ _id: new mongo.ObjectId(conv) }))?.last_seq).toBe(perConv);
      }
    } finally {
      await client.close();
    }
  });
});
