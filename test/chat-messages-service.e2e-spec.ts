import { AppConfig } from '@chat/config';
import { ConversationSeqs, ConversationsService, MessagesRepository, MessagesService, UsersService } from '@chat/chat';
import { RedisService } from '@chat/redis';
import { ChatEventBus } from '@chat/chat';
import { TenantService } from '@chat/platform';
import { asTenantId, TenantContext, TenantId } from '@chat/tenancy';
import { createTestApp, TestApp } from './support/test-app';
import { fakeEnvelope, randomId } from './chat-messages-helpers';
import { waitFor } from './support/wait-for';

/**
 * Service-level integration tests of the message write path against the real database: group commit,
 * seq allocation under concurrency, idempotent retries, gap handling. HTTP behaviour is covered in
 * chat-messages.e2e-spec.ts and chat-messages-*.e2e-spec.ts.
 */
describe('MessagesService (real FerretDB)', () => {
  let t: TestApp;
  let messages: MessagesService;
  let conversations: ConversationsService;
  let users: UsersService;
  let events: ChatEventBus;

  beforeAll(async () => {
    t = await createTestApp();
    messages = t.app.get(MessagesService);
    conversations = t.app.get(ConversationsService);
    users = t.app.get(UsersService);
    events = t.app.get(ChatEventBus);
  });
  afterAll(async () => t?.close());

  /** A real tenant with a message rate well above what these tests send. */
  async function newTenant(): Promise<TenantId> {
    const client = await t.app.get(TenantService).create({ name: randomId('msg'), plan: 'enterprise', quotas: { messages_per_second: 100_000 } });
    return asTenantId(String(client._id));
  }

  const as = <T>(tenantId: TenantId, fn: () => Promise<T>) => TenantContext.run({ tenantId }, fn);

  async function group(tenantId: TenantId, n: number): Promise<{ ids: string[]; conversationId: string }> {
    const ids = Array.from({ length: n }, (_, i) => `u${i}`);
    return as(tenantId, async () => {
      for (const id of ids) await users.upsert(id, { profile: { display_name: id } });
      const conv = await conversations.create(ids[0]!, { type: 'group', name: 'g', member_ids: ids.slice(1) });
      return { ids, conversationId: conv.id };
    });
  }

  it('many concurrent senders get contiguous seqs: no gaps, no duplicates; last_message follows', async () => {
    const tenant = await newTenant();
    const { ids, conversationId } = await group(tenant, 5);
    const created: number[] = [];
    const off = events.on('message.created', (e) => {
      if (e.tenantId === tenant) created.push(e.message.seq as number);
    });
    const N = 200;
    const results = await as(tenant, () =>
      Promise.all(Array.from({ length: N }, (_, i) => messages.send(ids[i % ids.length]!, conversationId, { content: fakeEnvelope(ids) } as any))),
    );
    off();
    const seqs = results.map((r) => r.message.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(results.every((r) => !r.duplicate)).toBe(true);
    expect(created.sort((a, b) => a - b)).toEqual(seqs);
    const conv = await as(tenant, () => conversations.getForMember(conversationId, ids[0]!));
    expect(conv.last_seq).toBe(N);
    expect(conv.last_message?.seq).toBe(N);
    // History reads back every seq exactly once, oldest first, by cursor.
    const all: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await as(tenant, () => messages.history(ids[1]!, conversationId, { after_seq: cursor ? undefined : 0, cursor, limit: 64 }));
      all.push(...page.data.map((m) => m.seq));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(all).toEqual(seqs);
  });

  it('concurrent retries of one client_msg_id store one message', async () => {
    const tenant = await newTenant();
    const { ids, conversationId } = await group(tenant, 2);
    const dto = { client_msg_id: 'retry-1', content: fakeEnvelope(ids) } as any;
    const results = await as(tenant, () => Promise.all(Array.from({ length: 12 }, () => messages.send(ids[0]!, conversationId, dto))));
    expect(new Set(results.map((r) => r.message.id)).size).toBe(1);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    const later = await as(tenant, () => messages.send(ids[0]!, conversationId, dto));
    expect(later).toMatchObject({ duplicate: true, message: { id: results[0]!.message.id, seq: 1 } });
    // Retries that reached different batches each reserved a seq: those seqs hold gap tombstones.
    const page = await as(tenant, () => messages.sync(ids[0]!, conversationId, 0, 100));
    expect(page.data.filter((m) => !m.gap).map((m) => m.id)).toEqual([results[0]!.message.id]);
    expect(page.data.map((m) => m.seq)).toEqual(page.data.map((_, i) => i + 1));
  });

  it('first sends skip the database retry lookup (Redis claim); retries are looked up; a lost claim still finds the original', async () => {
    const tenant = await newTenant();
    const { ids, conversationId } = await group(tenant, 2);
    const lookups = jest.spyOn(t.app.get(MessagesRepository), 'findByClientMsgIds');
    try {
      const firsts = await as(tenant, () =>
        Promise.all(['c-1', 'c-2', 'c-3'].map((id) => messages.send(ids[0]!, conversationId, { client_msg_id: id, content: fakeEnvelope(ids) } as any))),
      );
      expect(firsts.map((r) => r.duplicate)).toEqual([false, false, false]);
      expect(lookups).not.toHaveBeenCalled();
      // A retry loses the claim, is looked up, and spends no seq.
      const retry = await as(tenant, () => messages.send(ids[0]!, conversationId, { client_msg_id: 'c-2', content: fakeEnvelope(ids) } as any));
      expect(retry).toMatchObject({ duplicate: true, message: { id: firsts[1]!.message.id } });
      expect(lookups).toHaveBeenCalledTimes(1);
      // Redis lost the claim (flush, eviction, a retry after the TTL): the insert collides on the derived
      // _id and the original is still the answer; the seq it reserved holds a gap tombstone.
      const redis = t.app.get(RedisService);
      const claims = await redis.client!.keys(`${redis.key('send', tenant)}:*`);
      expect(claims).toHaveLength(3);
      await redis.client!.del(...claims);
      const late = await as(tenant, () => messages.send(ids[0]!, conversationId, { client_msg_id: 'c-1', content: fakeEnvelope(ids) } as any));
      expect(late).toMatchObject({ duplicate: true, message: { id: firsts[0]!.message.id, seq: firsts[0]!.message.seq } });
      const next = await as(tenant, () => messages.send(ids[1]!, conversationId, { content: fakeEnvelope(ids) } as any));
      expect(next.message.seq).toBe(5);
      const page = await as(tenant, () => messages.sync(ids[1]!, conversationId, 0, 10));
      expect(page.data.map((m) => [m.seq, m.gap])).toEqual([
        [1, false],
        [2, false],
        [3, false],
        [4, true],
        [5, false],
      ]);
    } finally {
      lookups.mockRestore();
    }
  });

  it('a retried send racing past the fast path resolves to the original and leaves no hole in seq', async () => {
    const tenant = await newTenant();
    const { ids, conversationId } = await group(tenant, 2);
    const first = await as(tenant, () => messages.send(ids[0]!, conversationId, { client_msg_id: 'x-1', content: fakeEnvelope(ids) } as any));
    // Straight to the batcher, as a concurrent retry on another node would get past the lookup.
    const now = new Date();
    const again = await as(tenant, () =>
      messages.batcher.submit(tenant, {
        conversation_id: conversationId,
        sender_id: ids[0]!,
        client_msg_id: 'x-1',
        content: fakeEnvelope(ids) as any,
        preview: null,
        search_tokens: [],
        mentions: [],
        reactions: [],
        thread: { parent_id: null, reply_count: 0 },
        read_by: [],
        status: 'sent',
        gap: false,
        created_at: now,
        updated_at: now,
        edited_at: null,
        deleted_at: null,
      }, { lookupExisting: false }),
    );
    expect(again.duplicate).toBe(true);
    expect(String(again.message._id)).toBe(first.message.id);
    const next = await as(tenant, () => messages.send(ids[1]!, conversationId, { content: fakeEnvelope(ids) } as any));
    expect(next.message.seq).toBe(3);
    const page = await as(tenant, () => messages.sync(ids[1]!, conversationId, 0, 10));
    expect(page.data.map((m) => [m.seq, m.gap])).toEqual([
      [1, false],
      [2, true],
      [3, false],
    ]);
  });

  it('sync stops before a reserved seq whose write may still be in flight', async () => {
    const tenant = await newTenant();
    const { ids, conversationId } = await group(tenant, 2);
    await as(tenant, () => messages.send(ids[0]!, conversationId, { content: fakeEnvelope(ids) } as any));
    // seq 2: a write in flight elsewhere (reserved where the write path reserves: the seq counter)
    await as(tenant, () => t.app.get(ConversationSeqs).reserve(conversationId, 1, () => t.app.get(MessagesRepository).maxSeq(conversationId)));
    await as(tenant, () => messages.send(ids[0]!, conversationId, { content: fakeEnvelope(ids) } as any)); // seq 3
    const page = await as(tenant, () => messages.sync(ids[1]!, conversationId, 0, 10));
    expect(page.data.map((m) => m.seq)).toEqual([1]);
    expect(page.next_cursor).toBe('a1');
    // Newest-first history is not held back.
    const hist = await as(tenant, () => messages.history(ids[1]!, conversationId, {}));
    expect(hist.data.map((m) => m.seq)).toEqual([3, 1]);
  });

  it('refuses non-members and other tenants with 404, and keeps tenants apart', async () => {
    const tenantA = await newTenant();
    const tenantB = await newTenant();
    const a = await group(tenantA, 2);
    await group(tenantB, 2);
    await as(tenantB, () => users.upsert('stranger', {}));
    await expect(as(tenantB, () => messages.send('u0', a.conversationId, { content: fakeEnvelope(['u0', 'u1']) } as any))).rejects.toMatchObject({
      code: 'not_found',
    });
    await as(tenantA, () => users.upsert('outsider', {}));
    await expect(as(tenantA, () => messages.send('outsider', a.conversationId, { content: fakeEnvelope(['u0', 'u1']) } as any))).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(as(tenantA, () => messages.history('outsider', a.conversationId, {}))).rejects.toMatchObject({ code: 'not_found' });
  });

  it('on shutdown, queued sends are still written and answered; later sends get 503', async () => {
    const tenant = await newTenant();
    const { ids, conversationId } = await group(tenant, 2);
    // A second node on the same database, with the longest window so the sends are still queued at close.
    const node = await createTestApp({ dbName: t.dbName, env: { MESSAGE_BATCH_WINDOW_MS: '1000' } });
    const nodeMessages = node.app.get(MessagesService);
    const pending = await as(tenant, async () => {
      const sends = Array.from({ length: 10 }, () => nodeMessages.send(ids[0]!, conversationId, { content: fakeEnvelope(ids) } as any));
      // Wait until all ten sit in the batcher's queue (past membership and quota checks).
      await waitFor(() => nodeMessages.batcher.queueDepth >= 10, { intervalMs: 1, timeoutMs: 1000, what: 'ten queued sends' }).catch(() => undefined);
      return sends;
    });
    expect(nodeMessages.batcher.queueDepth).toBe(10);
    await node.close();
    const stored = await Promise.all(pending);
    expect(stored.map((r) => r.message.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    await expect(as(tenant, () => nodeMessages.send(ids[0]!, conversationId, { content: fakeEnvelope(ids) } as any))).rejects.toMatchObject({
      code: 'service_unavailable',
    });
    const page = await as(tenant, () => messages.sync(ids[1]!, conversationId, 0, 100));
    expect(page.data).toHaveLength(10);
  });

  it('checks recipient keys and size', async () => {
    const tenant = await newTenant();
    const { ids, conversationId } = await group(tenant, 3);
    await expect(as(tenant, () => messages.send(ids[0]!, conversationId, { content: fakeEnvelope(ids.slice(0, 1)) } as any))).rejects.toMatchObject({
      code: 'missing_recipient_keys',
      details: { missing: [ids[1], ids[2]].map((user_id) => ({ user_id, device_id: null, key_version: null })) },
    });
    const max = t.app.get(AppConfig).MESSAGE_MAX_BYTES;
    await expect(as(tenant, () => messages.send(ids[0]!, conversationId, { content: fakeEnvelope(ids, { dataBytes: max }) } as any))).rejects.toMatchObject({
      code: 'payload_too_large',
    });
  });
});
