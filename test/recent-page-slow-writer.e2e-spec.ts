/* The cached newest page of a conversation (history without a cursor) when two nodes write to it at
 * once and the one that reserved the lower seq stores it last. Node A is this jest process's app; node B
 * is the all-in-one entry as its own OS process with test/support/fault-points.js preloaded, holding one
 * batch's insert (its seq reserved) until the test releases it. One database, one Redis. */
import request from 'supertest';
import type { AppProcess } from './support/app-process';
import { startFaultNode } from './support/fault-node';
import { TEST_PLATFORM_ENV } from './support/factories';
import { ask, askOk, closeAllSockets, connectSocket, createRealtimeTenant, envelope, waitFor } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';

jest.setTimeout(180_000);

describe('the cached newest page with a slow writer on another node', () => {
  let a: TestApp;
  let b: { url: string; child: AppProcess } | undefined;

  beforeAll(async () => {
    // A long grace: the held seq stays "in flight" (pending) however slow this machine is.
    a = await createTestApp({ env: { MESSAGE_GAP_GRACE_MS: '120000' } });
    b = await startFaultNode({ ...TEST_PLATFORM_ENV, MONGODB_DB: a.dbName }, []);
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => {
    if (b && b.child.child.exitCode === null && !b.child.child.signalCode) b.child.child.kill('SIGKILL');
    await a?.close();
  });

  it('a page read while a lower seq is still being written is not cached: the late message shows in history', async () => {
    const w = await createRealtimeTenant(a.app);
    const conv = await w.group(['sw-one', 'sw-two']);
    const recipients = ['sw-one', 'sw-two'];
    const token = await w.token('sw-two');
    const history = async () =>
      (await request(a.url).get(`/v1/conversations/${conv}/messages`).set('Authorization', `Bearer ${token}`).expect(200)).body.data.map((m: { seq: number }) => m.seq);

    const onA = await connectSocket(a.url, await w.token('sw-one'));
    const first = await askOk(onA, 'message:send', { conversation_id: conv, client_msg_id: 'sw-1', content: envelope(recipients) });

    // B reserves the next seq and holds its insert.
    const onB = await connectSocket(b!.url, await w.token('sw-one'));
    const slow = ask(onB, 'message:send', { conversation_id: conv, client_msg_id: 'fault:hold-before-store-1', content: envelope(recipients) }, 120_000);
    await waitFor(() => b!.child.stdout().includes('fault:held'), 60_000, 'node B holding its insert');

    // A stores the seq after it, and a reader on A reads the newest page while B's seq is missing.
    const third = await askOk(onA, 'message:send', { conversation_id: conv, client_msg_id: 'sw-3', content: envelope(recipients) });
    expect(third.seq).toBe(first.seq + 2);
    expect(await history()).toEqual([third.seq, first.seq]);

    // B's write lands: the page must show it.
    b!.child.child.kill('SIGUSR2');
    const held = await slow;
    expect(held).toMatchObject({ ok: true, data: { seq: first.seq + 1 } });
    expect(await history()).toEqual([third.seq, first.seq + 1, first.seq]);
  });
});
