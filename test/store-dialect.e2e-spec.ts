/*
 * The StoreDialect branches that production takes on MongoDB (one bulkWrite, one updateMany) run here
 * too, against the test store, through the real repositories: both dialects must leave the same data.
 * Only what FerretDB cannot run at all stays out (no lock, findAndModify projection: docs/architecture.md).
 */
import { randomBytes } from 'node:crypto';
import mongoose, { Connection, Types } from 'mongoose';
import { MessageDoc, MessageSchema, MessagesRepository, NewMessage, UserDoc, UserSchema, UsersRepository } from '@chat/chat';
import { DatabaseInfo, DocumentWriteLock, StoreDialect, StoreDialectName } from '@chat/database';
import type { RedisService } from '@chat/redis';
import { asTenantId, setIdOnlyLookups, TenantConnectionResolver, TenantContext } from '@chat/tenancy';

describe.each(['mongodb', 'ferretdb'] as StoreDialectName[])('StoreDialect %s branches on the test store', (name) => {
  let conn: Connection;
  let users: UsersRepository;
  let messages: MessagesRepository;
  const tenant = asTenantId(`t_${randomBytes(4).toString('hex')}`);
  const inTenant = <T>(fn: () => Promise<T>) => TenantContext.run({ tenantId: tenant }, fn);

  beforeAll(async () => {
    conn = await mongoose.createConnection(process.env.MONGODB_URI!, { dbName: `dialect_${randomBytes(4).toString('hex')}` }).asPromise();
    // The look-up strategy follows the dialect, as DatabaseInfo sets it at connect.
    setIdOnlyLookups(conn, name === 'ferretdb');
    const db = { capabilities: { server: name }, dialect: name } as unknown as DatabaseInfo;
    const dialect = new StoreDialect(db, new DocumentWriteLock(db, { client: null } as unknown as RedisService));
    const resolver = new TenantConnectionResolver(undefined);
    const userModel = conn.model<UserDoc>('User', UserSchema);
    const messageModel = conn.model<MessageDoc>('Message', MessageSchema);
    await Promise.all([userModel.init(), messageModel.init()]);
    users = new UsersRepository(userModel, resolver, dialect);
    messages = new MessagesRepository(messageModel, resolver, dialect);
  });
  afterAll(async () => {
    await conn?.dropDatabase().catch(() => undefined);
    await conn?.close();
  });

  it('upsertMany and setLastSeen update existing users (sendUpdates)', async () => {
    await inTenant(() => users.upsertMany([{ external_id: 'a', profile: { display_name: 'A' } }, { external_id: 'b' }]));
    const res = await inTenant(() => users.upsertMany([{ external_id: 'a', profile: { display_name: 'A2' } }, { external_id: 'b', profile: { display_name: 'B2' } }, { external_id: 'c' }]));
    expect(res.created).toEqual(['c']);
    const t1 = new Date('2026-01-01T00:00:00Z');
    const t2 = new Date('2026-01-02T00:00:00Z');
    await inTenant(() => users.setLastSeen([['a', t2], ['b', t1], ['nobody', t2]]));
    await inTenant(() => users.setLastSeen([['a', t1]])); // never moves back
    const got = await inTenant(() => users.findByExternalIds(['a', 'b', 'c']));
    expect([...got.values()].map((u) => [u.external_id, u.profile.display_name, u.last_seen?.toISOString() ?? null]).sort()).toEqual([
      ['a', 'A2', t2.toISOString()],
      ['b', 'B2', t1.toISOString()],
      ['c', null, null],
    ]);
  });

  it('markDeliveredRange and markReadRange update each matching message once (updateEach)', async () => {
    const now = new Date();
    const msg = (seq: number, sender: string): NewMessage => ({
      _id: new Types.ObjectId(), conversation_id: 'conv', seq, sender_id: sender, client_msg_id: `m${seq}`, content: null, preview: null,
      search_tokens: [], mentions: [], reactions: [], thread: { parent_id: null, reply_count: 0 }, read_by: [], status: 'sent', gap: false,
      created_at: now, updated_at: now, edited_at: null, deleted_at: null,
    });
    await inTenant(() => messages.insertBatch([msg(1, 'x'), msg(2, 'y'), msg(3, 'x'), msg(4, 'x')]));
    expect(await inTenant(() => messages.markDeliveredRange('conv', 'y', 0, 3))).toBe(2);
    expect(await inTenant(() => messages.markDeliveredRange('conv', 'y', 0, 3))).toBe(0);
    expect(await inTenant(() => messages.markReadRange('conv', 'y', 0, 4, now, true))).toBe(3);
    expect(await inTenant(() => messages.markReadRange('conv', 'y', 0, 4, now, true))).toBe(0);
    const raw = await conn.db!.collection('messages').find({ tenant_id: tenant }).sort({ seq: 1 }).toArray();
    expect(raw.map((m) => [m.seq, m.status, (m.read_by as unknown[]).length])).toEqual([[1, 'read', 1], [2, 'sent', 0], [3, 'read', 1], [4, 'read', 1]]);
  });
});
