/* kill -9 of a node right after it stored a message (`fault:kill-after-store`) or wrote a thread root's
 * reply count (`fault:kill-after-reply`, test/support/fault-points.js), before any event was raised: the
 * fast path never ran, so notification.offline and the reply count's message.updated can only come from
 * the sweeper (the stored message; the trace written with the count). A node started afterwards
 * delivers each once, to a real HTTP receiver; a further sweep adds nothing, and an event the fast
 * path recorded is the same row the sweeper derives. */
import { PresenceTracker } from '@chat/realtime';
import { asTenantId } from '@chat/tenancy';
import { OutboxSweeper } from '@chat/webhooks';
import { fakeEnvelope } from './chat-messages-helpers';
import { webhookCrashSuite } from './support/fault-node';
import { api, asUser, createTenant, TestTenant, userToken } from './support/factories';
import { closeAllSockets, connectSocket, waitFor } from './support/socket-client';
import { TestApp } from './support/test-app';
import { ReceivedWebhook } from './support/webhook-receiver';

jest.setTimeout(600_000);

const MEMBERS = ['bob', 'carol', 'dave', 'erin'];

describe('notification.offline and reply count message.updated survive kill -9 between the write and the event', () => {
  const suite = webhookCrashSuite('off');
  const { receiver: r, node } = suite;
  let restarted: TestApp | undefined;
  let tenant: TestTenant;
  let conv: string;

  afterAll(() => closeAllSockets());

  const offline = () => r.ofType('notification.offline');
  const recipients = (hooks: ReceivedWebhook[]) => hooks.map((h) => `${(h.body.data as { message_id: string }).message_id}:${(h.body.data as { recipient_id: string }).recipient_id}`).sort();

  it('notification.offline: after a restart, once to each member who still has not received the message', async () => {
    await r.start();
    const first = await node();
    const n1 = first.t;
    tenant = await createTenant(n1);
    await api(n1, tenant).post('/v1/webhooks').send({ url: r.url, events: ['message.new', 'message.updated', 'notification.offline'] }).expect(201);
    for (const id of ['alice', ...MEMBERS]) await api(n1, tenant).put(`/v1/users/${id}`).send({}).expect(201);
    const alice = asUser(n1, await userToken(n1, tenant, 'alice'));
    conv = (await alice.post('/v1/conversations').send({ type: 'group', name: 'g', member_ids: MEMBERS }).expect(201)).body.id as string;
    await asUser(n1, await userToken(n1, tenant, 'dave')).patch(`/v1/conversations/${conv}/settings`).send({ muted: true }).expect(200);

    // Stored, then the node dies before answering: no event of it was recorded.
    await expect(alice.post(`/v1/conversations/${conv}/messages`).send({ content: fakeEnvelope(['alice', ...MEMBERS]), client_msg_id: 'fault:kill-after-store:1' })).rejects.toThrow();
    expect(await first.child.exited).toBeNull();
    expect(r.received).toEqual([]);

    // Sweeping by hand, so the members' state is set before the sweep looks.
    restarted = await suite.restart();
    const t = restarted;
    const stored = (await asUser(t, await userToken(t, tenant, 'bob')).get(`/v1/conversations/${conv}/messages`).expect(200)).body.data as Array<{ id: string; seq: number }>;
    expect(stored).toHaveLength(1);
    const m1 = stored[0]!;
    // erin's client acknowledged it (a delivery receipt); carol is connected now; dave muted; bob never came back.
    await asUser(t, await userToken(t, tenant, 'erin')).post(`/v1/conversations/${conv}/delivered`).send({ seq: m1.seq }).expect(200);
    const carol = await connectSocket(t.url, await userToken(t, tenant, 'carol'));
    expect(carol.connected).toBe(true);
    const presence = t.app.get(PresenceTracker);
    await waitFor(async () => (await presence.statuses(asTenantId(tenant.tenantId), ['carol']))[0]!.status === 'online', 30_000, 'carol online');

    const sweeper = t.app.get(OutboxSweeper);
    expect(await sweeper.sweep()).toBe(2); // message.new and bob's notification.offline
    await waitFor(() => r.ofType('message.new').length === 1 && offline().length === 1, 30_000, 'delivered after restart');
    expect(await sweeper.sweep()).toBe(0);
    expect(offline()[0]!.body.data).toEqual({
      recipient_id: 'bob',
      last_seen: null,
      message_id: m1.id,
      conversation_id: conv,
      conversation_type: 'group',
      conversation_name: 'g',
      seq: m1.seq,
      sender_id: 'alice',
      type: 'text',
      mentioned: false,
      thread_parent_id: null,
      created_at: expect.any(String),
    });

    // The fast path and the sweeper name a notification alike: one row each, whichever writes first.
    const m2 = (await asUser(t, await userToken(t, tenant, 'alice')).post(`/v1/conversations/${conv}/messages`).send({ content: fakeEnvelope(['alice', ...MEMBERS]), client_msg_id: 'm2' }).expect(201)).body as { id: string };
    await waitFor(() => offline().length === 3, 30_000, 'fast path notifications');
    await sweeper.sweep(); // may join a pass that was still running
    expect(await sweeper.sweep()).toBe(0);
    expect(recipients(offline())).toEqual([`${m1.id}:bob`, `${m2.id}:bob`, `${m2.id}:erin`].sort());
    expect(new Set(offline().map((h) => h.body.id)).size).toBe(3);
    carol.disconnect();
  });

  it("message.updated for a thread root's reply count: recovered from the trace written with the count", async () => {
    const t = restarted!;
    const killed = await node();
    const alice = asUser(killed.t, await userToken(killed.t, tenant, 'alice'));
    const root = (await alice.post(`/v1/conversations/${conv}/messages`).send({ content: fakeEnvelope(['alice', ...MEMBERS]), client_msg_id: 'fault:kill-after-reply:root' }).expect(201)).body as { id: string; seq: number };
    await waitFor(() => r.ofType('message.new').some((h) => (h.body.data as { message_id: string }).message_id === root.id), 30_000, 'root recorded');
    // The reply is stored and the root's count written with its trace; the node dies before either event is raised.
    await expect(alice.post(`/v1/conversations/${conv}/messages`).send({ content: fakeEnvelope(['alice', ...MEMBERS]), client_msg_id: 'reply-1', thread_parent_id: root.id })).rejects.toThrow();
    expect(await killed.child.exited).toBeNull();
    const updated = () => r.ofType('message.updated').filter((h) => (h.body.data as { message_id: string }).message_id === root.id);
    expect(updated()).toEqual([]);

    const sweeper = t.app.get(OutboxSweeper);
    await sweeper.sweep();
    await waitFor(() => updated().length === 1, 30_000, 'reply count recovered');
    expect(updated()[0]!.body.data).toEqual({ message_id: root.id, conversation_id: conv, seq: root.seq, sender_id: 'alice', edited_at: null, thread_parent_id: null, reply_count: 1 });
    expect(await sweeper.sweep()).toBe(0);

    // A second reply on a live node: the fast path records it, the sweeper derives the same row (and the first stays at 1).
    await asUser(t, await userToken(t, tenant, 'bob')).post(`/v1/conversations/${conv}/messages`).send({ content: fakeEnvelope(['alice', ...MEMBERS]), client_msg_id: 'reply-2', thread_parent_id: root.id }).expect(201);
    await waitFor(() => updated().length === 2, 30_000, 'fast path reply count');
    await sweeper.sweep();
    expect(await sweeper.sweep()).toBe(0);
    expect(updated().map((h) => (h.body.data as { reply_count: number }).reply_count).sort()).toEqual([1, 2]);
    expect(new Set(updated().map((h) => h.body.id)).size).toBe(2);
  });
});
