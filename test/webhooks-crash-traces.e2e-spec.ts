/* kill -9 of a node right after it wrote a change that carries its event's trace (a reaction, a role
 * change, a new user, a tenant-wide ban, a confirmed file, a user's deletion), before the service raised
 * the event (fault points `fault:kill-after-trace` / `-role` / `-file` / `-delete`, test/support/fault-points.js): the fast path never
 * ran, so only the sweeper can find the change. A node started afterwards delivers each event once. */
import { createHash, randomBytes } from 'node:crypto';
import { OutboxSweeper } from '@chat/webhooks';
import { fakeEnvelope } from './chat-messages-helpers';
import { webhookCrashSuite } from './support/fault-node';
import { api, asUser, createTenant, TestTenant, userToken } from './support/factories';
import { waitFor } from './support/socket-client';
import { TestApp } from './support/test-app';

jest.setTimeout(600_000);

const KINDS = ['reaction.new', 'member.role_changed', 'user.created', 'moderation.user_banned', 'file.uploaded', 'user.deleted'] as const;

describe('reactions, role changes, users, bans and files survive kill -9 between the write and the event', () => {
  const suite = webhookCrashSuite('trc');
  const { receiver: r, node } = suite;
  let restarted: TestApp | undefined;
  let tenant: TestTenant;

  /** Runs `act` on a fresh node, which must die (SIGKILL) inside it, before answering. */
  async function killedBy(act: (t: TestApp) => Promise<unknown>): Promise<void> {
    const n = await node();
    await expect(act(n.t)).rejects.toThrow();
    expect(await n.child.exited).toBeNull();
  }

  it('every such event is delivered after a restart, once each', async () => {
    await r.start();
    const first = await node();
    const n1 = first.t;
    tenant = await createTenant(n1);
    await api(n1, tenant).post('/v1/webhooks').send({ url: r.url, events: [...KINDS] }).expect(201);
    const role = 'fault:kill-after-role:1';
    const uploader = 'fault:kill-after-file:1';
    const deleted = 'fault:kill-after-delete:1';
    const notDeleted = 'fault:kill-before-delete:1';
    for (const id of ['alice', 'bob', 'mallory', role, uploader, deleted, notDeleted]) await api(n1, tenant).put(`/v1/users/${encodeURIComponent(id)}`).send({}).expect(201);
    const alice = asUser(n1, await userToken(n1, tenant, 'alice'));
    const conv = (await alice.post('/v1/conversations').send({ type: 'group', name: 'g', member_ids: ['bob', role] }).expect(201)).body.id as string;
    const msg = (await alice.post(`/v1/conversations/${conv}/messages`).send({ content: fakeEnvelope(['alice', 'bob', role]), client_msg_id: 'm1' }).expect(201)).body as { id: string };
    const files = asUser(n1, await userToken(n1, tenant, uploader));
    const bytes = randomBytes(500);
    const ticket = (
      await files
        .post('/v1/files')
        .send({
          size: bytes.length,
          checksum: createHash('sha256').update(bytes).digest('hex'),
          content_md5: createHash('md5').update(bytes).digest('base64'),
          mime_type: 'application/octet-stream',
          sharing: { type: 'private' },
        })
        .expect(201)
    ).body as { file: { id: string }; upload: { url: string; headers: Record<string, string> } };
    expect((await fetch(ticket.upload.url, { method: 'PUT', headers: ticket.upload.headers, body: bytes })).status).toBe(200);
    const uploaderToken = await userToken(n1, tenant, uploader);

    // Each change is written with its trace, then its node dies before the event is raised.
    const emoji = 'fault:kill-after-trace';
    await expect(alice.put(`/v1/conversations/${conv}/messages/${msg.id}/reactions/${emoji}`)).rejects.toThrow();
    expect(await first.child.exited).toBeNull();
    await killedBy((t) => api(t, tenant).put(`/v1/conversations/${conv}/members/${encodeURIComponent(role)}/role`).send({ role: 'admin' }));
    await killedBy((t) => api(t, tenant).put(`/v1/users/${encodeURIComponent('fault:kill-after-trace:new')}`).send({}));
    await killedBy((t) => api(t, tenant).put('/v1/users/mallory/ban').send({ reason: 'fault:kill-after-trace' }));
    await killedBy((t) => asUser(t, uploaderToken).post(`/v1/files/${ticket.file.id}/confirm`));
    // Killed after the delete: user.deleted (from its tombstone). Killed between the tombstone and the delete: the user still exists, no event.
    await killedBy((t) => api(t, tenant).delete(`/v1/users/${encodeURIComponent(deleted)}`));
    await killedBy((t) => api(t, tenant).delete(`/v1/users/${encodeURIComponent(notDeleted)}`));
    // Every change is stored; no event was recorded, let alone sent.
    expect(r.received).toEqual([]);

    restarted = await suite.restart({ WEBHOOK_SWEEP_INTERVAL_MS: '200' });
    await waitFor(() => KINDS.every((k) => r.ofType(k).length >= 1), 60_000, 'delivered after restart');
    // Ids and metadata only: never the emoji, which an E2E client sends as an encrypted token.
    expect(r.ofType('reaction.new')[0]!.body.data).toEqual({ message_id: msg.id, conversation_id: conv, user_id: 'alice' });
    expect(JSON.stringify(r.ofType('reaction.new')[0]!.body)).not.toContain(emoji);
    expect(r.ofType('member.role_changed')[0]!.body.data).toEqual({ conversation_id: conv, user_id: role, role: 'admin', by: null });
    expect(r.ofType('user.created').map((e) => (e.body.data as { user_id: string }).user_id)).toContain('fault:kill-after-trace:new');
    expect(r.ofType('moderation.user_banned')[0]!.body.data).toMatchObject({ user_id: 'mallory', reason: 'fault:kill-after-trace', expires_at: null, by: { type: 'api_key' } });
    expect(r.ofType('file.uploaded')[0]!.body.data).toEqual({
      file_id: ticket.file.id,
      uploader_id: uploader,
      mime_type: 'application/octet-stream',
      size: 500,
      sharing: 'private',
      conversation_id: null,
      message_id: null,
    });
    // Sweeping again adds nothing: the rows have derived ids.
    const sweeper = restarted.app.get(OutboxSweeper);
    await sweeper.sweep(); // may join a pass that was still running when the events went out
    expect(await sweeper.sweep()).toBe(0);
    const counts = Object.fromEntries(KINDS.map((k) => [k, r.ofType(k).length]));
    expect(counts).toEqual({ 'reaction.new': 1, 'member.role_changed': 1, 'user.created': 8, 'moderation.user_banned': 1, 'file.uploaded': 1, 'user.deleted': 1 });
    // Each user.created once: the seven made before the kills by the fast path, the killed node's by the sweep.
    expect(new Set(r.ofType('user.created').map((e) => e.body.id)).size).toBe(8);
    expect(r.ofType('user.deleted')[0]!.body.data).toEqual({ user_id: deleted });
    await api(restarted, tenant).get(`/v1/users/${encodeURIComponent(notDeleted)}`).expect(200);
    await api(restarted, tenant).get(`/v1/users/${encodeURIComponent(deleted)}`).expect(404);
  });

  it('a change the fast path recorded is the same event the sweeper derives: one row, one delivery', async () => {
    const t = restarted!;
    const bob = asUser(t, await userToken(t, tenant, 'bob'));
    const conv = (await bob.post('/v1/conversations').send({ type: 'group', name: 'h', member_ids: ['alice'] }).expect(201)).body.id as string;
    const msg = (await bob.post(`/v1/conversations/${conv}/messages`).send({ content: fakeEnvelope(['alice', 'bob']), client_msg_id: 'm2' }).expect(201)).body as { id: string };
    await bob.put(`/v1/conversations/${conv}/messages/${msg.id}/reactions/thumbsup`).expect(200);
    await api(t, tenant).put(`/v1/conversations/${conv}/members/alice/role`).send({ role: 'admin' }).expect(200);
    await waitFor(() => r.ofType('reaction.new').length === 2 && r.ofType('member.role_changed').length === 2, 30_000, 'fast path');
    const sweeper = t.app.get(OutboxSweeper);
    await sweeper.sweep();
    expect(await sweeper.sweep()).toBe(0);
    expect(r.ofType('reaction.new')).toHaveLength(2);
    expect(r.ofType('member.role_changed')).toHaveLength(2);
    expect(r.ofType('member.role_changed')[1]!.body.data).toEqual({ conversation_id: conv, user_id: 'alice', role: 'admin', by: null });
  });
});
