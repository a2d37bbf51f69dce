import { Types } from 'mongoose';
import { ConversationsService, MessagesRepository, MessagesService, MessageStore, UsersService } from '@chat/chat';
import { TenantService } from '@chat/platform';
import { asTenantId, TenantContext, TenantId } from '@chat/tenancy';
import { createTestApp, TestApp } from './support/test-app';
import { fakeEnvelope, randomId } from './chat-messages-helpers';

/**
 * The cached newest page of a conversation (RecentMessagesCache) is dropped by a send batch's seq
 * reservation, before its insert (one Redis script). A history read between the two loads a page
 * without the message being written: it must not be stored, or history would miss the message once the
 * insert lands (nothing drops the page after it).
 */
describe('newest-page cache dropped at the seq reservation (real FerretDB and Redis)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  const as = <T>(tenantId: TenantId, fn: () => Promise<T>) => TenantContext.run({ tenantId }, fn);

  it('a page read while a batch is between its reservation and its insert is not cached', async () => {
    const tenant = asTenantId(String((await t.app.get(TenantService).create({ name: randomId('page'), plan: 'enterprise' }))._id));
    const messages = t.app.get(MessagesService);
    const ids = ['u0', 'u1'];
    const conversationId = await as(tenant, async () => {
      for (const id of ids) await t.app.get(UsersService).upsert(id, { profile: { display_name: id } });
      return (await t.app.get(ConversationsService).create(ids[0]!, { type: 'group', name: 'g', member_ids: ids.slice(1) })).id;
    });
    await as(tenant, () => messages.send(ids[0]!, conversationId, { content: fakeEnvelope(ids) } as any));
    expect((await as(tenant, () => messages.history(ids[1]!, conversationId, {}))).data.map((m) => m.seq)).toEqual([1]);

    // What a batch does, step by step, with a reader in between: reserve (drops the page), read, insert.
    const store = t.app.get(MessageStore);
    const seq = await as(tenant, () => store.reserveSeqs(conversationId, 1));
    expect(seq).toBe(2);
    expect((await as(tenant, () => messages.history(ids[1]!, conversationId, {}))).data.map((m) => m.seq)).toEqual([1]);
    const [first] = await as(tenant, () => t.app.get(MessagesRepository).page(conversationId, { limit: 1 }));
    const { tenant_id: _tenant, ...doc } = first!;
    const outcomes = await as(tenant, () => store.insertBatch([{ ...doc, _id: new Types.ObjectId(), seq, client_msg_id: randomId('c') }]));
    expect(outcomes).toEqual([{ ok: true }]);

    expect((await as(tenant, () => messages.history(ids[1]!, conversationId, {}))).data.map((m) => m.seq)).toEqual([2, 1]);
  });
});
