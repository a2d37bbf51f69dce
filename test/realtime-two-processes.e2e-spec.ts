/* Two gateway nodes as two OS processes: this jest process's app (node A) and the all-in-one entry
 * started from the sources as a child process (node B), sharing one database and one Redis. Nothing in
 * process memory is shared, so what crosses over went through the Redis adapter and PlatformEvents:
 * messages both ways, a membership removal made on A cutting B's socket off, and B's graceful stop. */
import request from 'supertest';
import { ConversationsService } from '@chat/chat';
import { findFreePort, waitForPort } from '@chat/dev-services';
import { AppProcess, spawnAllInOne } from './support/app-process';
import { TEST_PLATFORM_ENV } from './support/factories';
import { askOk, closeAllSockets, connectSocket, createRealtimeTenant, drained, envelope, nextEvent, receivedOf, waitFor } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';

jest.setTimeout(120_000);

describe('realtime across two OS processes (real Redis adapter)', () => {
  let a: TestApp;
  let b: AppProcess;
  let bUrl: string;

  beforeAll(async () => {
    a = await createTestApp();
    const port = await findFreePort();
    b = spawnAllInOne({ ...TEST_PLATFORM_ENV, MONGODB_DB: a.dbName, PORT: String(port), HOST: '127.0.0.1' });
    bUrl = `http://127.0.0.1:${port}`;
    await waitForPort(port, '127.0.0.1', 90_000, () => b.child.exitCode === null).catch((err) => {
      throw new Error(`node B did not listen: ${(err as Error).message}\n${b.stdout()}${b.stderr()}`);
    });
    await waitFor(async () => (await request(bUrl).get('/health/ready')).status === 200, 30_000, 'node B ready');
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => {
    if (b && b.child.exitCode === null) b.child.kill('SIGKILL');
    await a?.close();
  });

  it('messages cross between the processes both ways, and a removal made on A cuts B off at once', async () => {
    const w = await createRealtimeTenant(a.app);
    const conv = await w.group(['pa', 'pb', 'pc']);
    const onA = await connectSocket(a.url, await w.token('pa'));
    const onB = await connectSocket(bUrl, await w.token('pb'));
    const alsoB = await connectSocket(bUrl, await w.token('pc'));

    const fromA = await askOk(onA, 'message:send', { conversation_id: conv, client_msg_id: 'x-1', content: envelope(['pa', 'pb', 'pc']) });
    expect((await nextEvent(onB, 'message:new', (m: any) => m.id === fromA.id)).seq).toBe(fromA.seq);
    const fromB = await askOk(onB, 'message:send', { conversation_id: conv, client_msg_id: 'x-2', content: envelope(['pa', 'pb', 'pc']) });
    expect(fromB.seq).toBe(fromA.seq + 1);
    expect((await nextEvent(onA, 'message:new', (m: any) => m.id === fromB.id)).sender_id).toBe('pb');
    // The same sender retrying through the other process gets the original, not a second message.
    const pbOnA = await connectSocket(a.url, await w.token('pb'));
    expect(await askOk(pbOnA, 'message:send', { conversation_id: conv, client_msg_id: 'x-2', content: envelope(['pa', 'pb', 'pc']) })).toEqual({ ...fromB, duplicate: true });

    // Removed through node A's service: node B's socket is told and gets nothing more.
    await w.as(() => a.app.get(ConversationsService).removeMember(conv, { kind: 'server' }, 'pc'));
    expect(await nextEvent(alsoB, 'member:removed')).toEqual({ conversation_id: conv, user_ids: ['pc'], by: null });
    const after = await askOk(onA, 'message:send', { conversation_id: conv, content: envelope(['pa', 'pb']) });
    await nextEvent(onB, 'message:new', (m: any) => m.id === after.id);
    // alsoB is in process B with onB: had B sent the message to it, it would have arrived by now.
    await drained(alsoB);
    expect(receivedOf(alsoB, 'message:new', (m: any) => m.id === after.id)).toEqual([]);
  });

  it('node B stops gracefully on SIGTERM while node A keeps serving', async () => {
    const w = await createRealtimeTenant(a.app);
    const conv = await w.group(['qa', 'qb']);
    const onA = await connectSocket(a.url, await w.token('qa'));
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    const sent = await askOk(onA, 'message:send', { conversation_id: conv, content: envelope(['qa', 'qb']) });
    expect(sent.seq).toBe(1);
  });
});
