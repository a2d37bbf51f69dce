/* What `sync` returns about a conversation's stream: every seq answered (message, gap tombstone or
 * explicit hole), the changes made to held messages while a device was away, and nothing a re-added
 * member may not see. Through socket.io and HTTP against the real app. */
import request from 'supertest';
import { ConversationsRepository, ConversationsService } from '@chat/chat';
import { ChatSocket } from '@chat/sdk';
import { askOk, closeAllSockets, connectSocket, createRealtimeTenant, envelope, waitFor } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';

const GRACE_MS = 1500;

describe('sync: holes, changes and visibility', () => {
  let t: TestApp;
  const sdkSockets: ChatSocket[] = [];
  beforeAll(async () => {
    t = await createTestApp({ env: { MESSAGE_GAP_GRACE_MS: String(GRACE_MS) } });
  });
  afterEach(() => {
    closeAllSockets();
    for (const s of sdkSockets.splice(0)) s.close();
  });
  afterAll(async () => t?.close());

  it('answers reserved seqs whose write is in flight as pending holes, then as gap tombstones once the writer is gone', async () => {
    const w = await createRealtimeTenant(t.app);
    const conv = await w.group(['ha', 'hb']);
    // A writer took two seqs and never wrote them (what a crashed node leaves).
    expect(await w.as(() => t.app.get(ConversationsRepository).reserveSeqs(conv, 2))).toBe(1);
    const alice = await connectSocket(t.url, await w.token('ha'));
    const bob = await connectSocket(t.url, await w.token('hb'));
    const sent = await askOk(alice, 'message:send', { conversation_id: conv, content: envelope(['ha', 'hb']) });
    expect(sent.seq).toBe(3);
    const sync = async () => (await askOk(bob, 'sync', { conversations: [{ conversation_id: conv, after_seq: 0 }] })).conversations[0];
    // The SDK catching up from 0 meets the pending holes and asks again when told, with no live message to prompt it.
    const sdk = new ChatSocket({ url: t.url, token: await w.token('hb'), positions: { [conv]: 0 } });
    sdkSockets.push(sdk);
    const delivered = sdk.waitFor('message:new', (m) => m.id === sent.id, 15_000);
    await sdk.connect();
    const early = await sync();
    expect(early).toMatchObject({
      messages: [],
      holes: [
        { seq: 1, state: 'pending' },
        { seq: 2, state: 'pending' },
      ],
      has_more: true,
      next_after_seq: 0,
    });
    expect(early.retry_after_ms).toBeGreaterThan(0);
    expect(early.retry_after_ms).toBeLessThanOrEqual(GRACE_MS);
    await waitFor(async () => (await sync()).next_after_seq === 3, 10_000, 'holes filled after the grace period');
    const late = await sync();
    expect(late.messages.map((m: any) => [m.seq, m.gap])).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
    expect(late).toMatchObject({ holes: [], has_more: false });
    expect((await delivered).seq).toBe(3);
    expect(sdk.position(conv)).toBe(3);
    // A range: only the seqs below before_seq.
    const range = (await askOk(bob, 'sync', { conversations: [{ conversation_id: conv, after_seq: 0, before_seq: 2 }] })).conversations[0];
    expect(range).toMatchObject({ next_after_seq: 1, has_more: false, holes: [] });
    expect(range.messages.map((m: any) => m.seq)).toEqual([1]);
  });

  it('returns the edits, deletes and reactions made while a device was away, with tombstones, and the SDK applies them', async () => {
    const w = await createRealtimeTenant(t.app);
    const conv = await w.group(['ca', 'cb']);
    const both = ['ca', 'cb'];
    const alice = await connectSocket(t.url, await w.token('ca'));
    const m = [];
    for (let i = 0; i < 3; i++) m.push(await askOk(alice, 'message:send', { conversation_id: conv, content: envelope(both) }));
    // Bob holds seqs 1-3 and is away; meanwhile:
    await askOk(alice, 'message:edit', { conversation_id: conv, message_id: m[0].id, content: envelope(both) });
    await askOk(alice, 'message:delete', { conversation_id: conv, message_id: m[1].id });
    await askOk(alice, 'reaction:add', { conversation_id: conv, message_id: m[2].id, emoji: '👍' });
    const fresh = await askOk(alice, 'message:send', { conversation_id: conv, content: envelope(both) });

    const bob = await connectSocket(t.url, await w.token('cb'));
    const entry = (await askOk(bob, 'sync', { conversations: [{ conversation_id: conv, after_seq: 3, after_change: 0 }] })).conversations[0];
    expect(entry.messages.map((x: any) => x.id)).toEqual([fresh.id]);
    const byId = new Map(entry.changes.map((x: any) => [x.id, x]));
    expect(entry.changes).toHaveLength(3);
    expect((byId.get(m[0].id) as any).edited_at).not.toBeNull();
    expect(byId.get(m[1].id)).toMatchObject({ content: null, status: 'deleted' });
    expect((byId.get(m[1].id) as any).deleted_at).not.toBeNull();
    expect((byId.get(m[2].id) as any).reactions).toEqual([expect.objectContaining({ user_id: 'ca', emoji: '👍' })]);
    // Change positions increase in change order; the position only moves past settled changes.
    expect(entry.changes.map((x: any) => x.change_seq)).toEqual([1, 2, 3]);
    expect(entry.next_after_change).toBeLessThanOrEqual(3);
    await waitFor(
      async () => (await askOk(bob, 'sync', { conversations: [{ conversation_id: conv, after_seq: 4, after_change: 0 }] })).conversations[0].next_after_change === 3,
      10_000,
      'change position settled',
    );
    const after = (await askOk(bob, 'sync', { conversations: [{ conversation_id: conv, after_seq: 4, after_change: 3 }] })).conversations[0];
    expect(after).toMatchObject({ messages: [], changes: [], next_after_change: 3, changes_has_more: false });

    // Over HTTP too.
    const token = await w.token('cb');
    const res = await request(t.url).get(`/v1/conversations/${conv}/changes`).query({ after_change: 1 }).set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body.changes.map((x: any) => x.id)).toEqual([m[1].id, m[2].id]);
    expect(res.body.next_after_change).toBe(3);
    const bad = await request(t.url).get(`/v1/conversations/${conv}/changes`).query({ after_change: -1 }).set('Authorization', `Bearer ${token}`);
    expect(bad.status).toBe(400);

    // The SDK, resuming from stored positions, tells the app as the live events would have.
    const sdk = new ChatSocket({ url: t.url, token, positions: { [conv]: 3 }, changePositions: { [conv]: 0 } });
    sdkSockets.push(sdk);
    const updated: string[] = [];
    const deleted: string[] = [];
    sdk.on('message:updated', (x) => updated.push(x.id));
    sdk.on('message:deleted', (x) => deleted.push(x.message_id));
    const synced = sdk.waitFor('synced');
    await sdk.connect();
    expect(await synced).toMatchObject({ messages: 1, changes: 3 });
    expect(updated.sort()).toEqual([m[0].id, m[2].id].sort());
    expect(deleted).toEqual([m[1].id]);
    expect(sdk.allChangePositions[conv]).toBe(3);
  });

  it('a re-added member gets no message sent while they were out, by sync or history: those seqs are hidden holes', async () => {
    const w = await createRealtimeTenant(t.app);
    const conv = await w.group(['ra', 'rb', 'rc']);
    const owner = await connectSocket(t.url, await w.token('ra'));
    const before = await askOk(owner, 'message:send', { conversation_id: conv, content: envelope(['ra', 'rb', 'rc']) });
    const conversations = t.app.get(ConversationsService);
    await w.as(() => conversations.removeMember(conv, { kind: 'server' }, 'rc'));
    const whileOut = [];
    for (let i = 0; i < 2; i++) whileOut.push(await askOk(owner, 'message:send', { conversation_id: conv, content: envelope(['ra', 'rb']) }));
    await w.as(() => conversations.addMembers(conv, { kind: 'server' }, ['rc']));
    const back = await askOk(owner, 'message:send', { conversation_id: conv, content: envelope(['ra', 'rb', 'rc']) });

    const rc = await connectSocket(t.url, await w.token('rc'));
    const entry = (await askOk(rc, 'sync', { conversations: [{ conversation_id: conv, after_seq: 0 }] })).conversations[0];
    expect(entry.messages.map((m: any) => m.id)).toEqual([before.id, back.id]);
    expect(entry.holes).toEqual(whileOut.map((m) => ({ seq: m.seq, state: 'hidden' })));
    expect(entry).toMatchObject({ next_after_seq: back.seq, has_more: false });

    const token = await w.token('rc');
    const history = await request(t.url).get(`/v1/conversations/${conv}/messages`).set('Authorization', `Bearer ${token}`);
    expect(history.body.data.map((m: any) => m.id)).toEqual([back.id, before.id]);
    const one = await request(t.url).get(`/v1/conversations/${conv}/messages/${whileOut[0].id}`).set('Authorization', `Bearer ${token}`);
    expect(one.status).toBe(404);
    // A member re-shares one of them (history shares, docs/e2e.md): that one becomes readable for rc.
    const e = envelope(['rc']);
    const share = await request(t.url)
      .post(`/v1/conversations/${conv}/key-shares`)
      .set('Authorization', `Bearer ${await w.token('ra')}`)
      .send({ shares: [{ message_id: whileOut[0].id, ephemeral_public_key: e.ephemeral_public_key, encrypted_key: e.encrypted_key }] });
    expect(share.status).toBe(200);
    expect(share.body).toEqual({ stored: 1 });
    const afterShare = (await askOk(rc, 'sync', { conversations: [{ conversation_id: conv, after_seq: 0 }] })).conversations[0];
    expect(afterShare.messages.map((m: any) => m.id)).toEqual([before.id, whileOut[0].id, back.id]);
    expect(afterShare.holes).toEqual([{ seq: whileOut[1].seq, state: 'hidden' }]);
    // Members who were there see everything.
    const rb = await connectSocket(t.url, await w.token('rb'));
    const full = (await askOk(rb, 'sync', { conversations: [{ conversation_id: conv, after_seq: 0 }] })).conversations[0];
    expect(full.messages).toHaveLength(4);
  });
});
