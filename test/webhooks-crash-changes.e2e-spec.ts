/* kill -9 of a node right after it wrote an edit or a delete, before it raised the event (fault point
 * `fault:kill-after-change`, test/support/fault-points.js): the fast path never ran, so only the
 * sweeper can find the change (edited_at, deleted_at). A node started afterwards delivers both. */
import { OutboxSweeper } from '@chat/webhooks';
import { fakeEnvelope } from './chat-messages-helpers';
import { webhookCrashSuite } from './support/fault-node';
import { api, asUser, createTenant, TestTenant, userToken } from './support/factories';
import { waitFor } from './support/socket-client';
import { TestApp } from './support/test-app';

jest.setTimeout(300_000);

describe('message.updated, message.deleted, member.added, member.removed and moderation.report.created survive kill -9 between the write and the event', () => {
  const suite = webhookCrashSuite('chg');
  const { receiver: r, node } = suite;
  let restarted: TestApp | undefined;
  let tenant: TestTenant;
  let conv: string;

  it('every such event is delivered after a restart, once each', async () => {
    await r.start();
    const first = await node();
    const n1 = { url: first.url } as TestApp;
    tenant = await createTenant(n1);
    await api(n1, tenant).post('/v1/webhooks').send({ url: r.url, events: ['message.updated', 'message.deleted', 'member.added', 'member.removed', 'moderation.report.created'] }).expect(201);
    for (const id of ['alice', 'bob', 'fault:kill-after-member:1', 'carol']) await api(n1, tenant).put(`/v1/users/${id}`).send({}).expect(201);
    const alice = asUser(n1, await userToken(n1, tenant, 'alice'));
    conv = (await alice.post('/v1/conversations').send({ type: 'group', name: 'g', member_ids: ['bob'] }).expect(201)).body.id as string;
    const send = async (clientMsgId: string) =>
      (await alice.post(`/v1/conversations/${conv}/messages`).send({ content: fakeEnvelope(['alice', 'bob']), client_msg_id: clientMsgId }).expect(201)).body as { id: string; seq: number };
    const edited = await send('fault:kill-after-change:edit');
    const deleted = await send('fault:kill-after-change:delete');

    // The edit is written, then the node dies before answering (and before its event).
    await expect(alice.patch(`/v1/conversations/${conv}/messages/${edited.id}`).send({ content: fakeEnvelope(['alice', 'bob']) })).rejects.toThrow();
    expect(await first.child.exited).toBeNull();

    const second = await node();
    const n2 = { url: second.url } as TestApp;
    const alice2 = asUser(n2, await userToken(n2, tenant, 'alice'));
    await expect(alice2.delete(`/v1/conversations/${conv}/messages/${deleted.id}`)).rejects.toThrow();
    expect(await second.child.exited).toBeNull();

    // The client's server adds a member, then removes it: each written with its change log entry, then killed.
    const third = await node();
    const member = 'fault:kill-after-member:1';
    await expect(api({ url: third.url } as TestApp, tenant).post(`/v1/conversations/${conv}/members`).send({ user_ids: [member] })).rejects.toThrow();
    expect(await third.child.exited).toBeNull();
    const fourth = await node();
    await expect(api({ url: fourth.url } as TestApp, tenant).delete(`/v1/conversations/${conv}/members/${encodeURIComponent(member)}`)).rejects.toThrow();
    expect(await fourth.child.exited).toBeNull();
    // bob reports a message: the report is stored, then the node dies before recording its event.
    const fifth = await node();
    const n5 = { url: fifth.url } as TestApp;
    const bob5 = asUser(n5, await userToken(n5, tenant, 'bob'));
    await expect(bob5.post(`/v1/conversations/${conv}/messages/${edited.id}/reports`).send({ payload: 'x', reason: 'spam', note: 'fault:kill-after-report' })).rejects.toThrow();
    expect(await fifth.child.exited).toBeNull();
    // Every change is stored; no event was recorded, let alone sent.
    expect(r.received).toEqual([]);

    restarted = await suite.restart({ WEBHOOK_SWEEP_INTERVAL_MS: '200' });
    const kinds = ['message.updated', 'message.deleted', 'member.added', 'member.removed', 'moderation.report.created'];
    await waitFor(() => kinds.every((k) => r.ofType(k).length === 1), 60_000, 'delivered after restart');
    expect(r.ofType('member.added')[0]!.body.data).toEqual({ conversation_id: conv, user_ids: [member], by: null });
    expect(r.ofType('member.removed')[0]!.body.data).toEqual({ conversation_id: conv, user_ids: [member], by: null });
    expect(r.ofType('moderation.report.created')[0]!.body.data).toMatchObject({ message_id: edited.id, conversation_id: conv, sender_id: 'alice', reporter_id: 'bob', reason: 'spam', verified: false });
    const upd = r.ofType('message.updated')[0]!.body.data;
    expect(upd).toMatchObject({ message_id: edited.id, conversation_id: conv, seq: edited.seq, sender_id: 'alice', edited_at: expect.any(String), reply_count: 0 });
    expect(r.ofType('message.deleted')[0]!.body.data).toEqual({ message_id: deleted.id, conversation_id: conv, seq: deleted.seq, deleted_at: expect.any(String) });
    // Sweeping again adds nothing: the rows have derived ids.
    const sweeper = restarted.app.get(OutboxSweeper);
    await sweeper.sweep(); // may join a pass that was still running when the events went out
    expect(await sweeper.sweep()).toBe(0);
    for (const k of kinds) expect(r.ofType(k)).toHaveLength(1);
  });

  it('a change the fast path recorded is the same event the sweeper derives: one row, one delivery', async () => {
    const admin = api(restarted!, tenant);
    await admin.post(`/v1/conversations/${conv}/members`).send({ user_ids: ['carol'] }).expect(200);
    await waitFor(() => r.ofType('member.added').length === 2, 30_000, 'member.added (fast path)');
    const sweeper = restarted!.app.get(OutboxSweeper);
    await sweeper.sweep();
    expect(await sweeper.sweep()).toBe(0);
    const deliveries = (await admin.get(`/v1/webhooks`).expect(200)).body.data as Array<{ id: string }>;
    const rows = (await admin.get(`/v1/webhooks/${deliveries[0]!.id}/deliveries`).query({ limit: 100 }).expect(200)).body.data as Array<{ type: string }>;
    expect(rows.filter((d) => d.type === 'member.added')).toHaveLength(2);
    expect(r.ofType('member.added')[1]!.body.data).toEqual({ conversation_id: conv, user_ids: ['carol'], by: null });
  });
});
