/*
 * The indexes the app builds on the test store (libs/database ferretdb-unused-indexes.ts): on FerretDB
 * none a schema declared MongoDB-only (FerretDB never reads them), plus its GIN equality indexes; on
 * MongoDB every declared index. Through autoIndex at start, then `setup --sync` (runSetup), which must
 * neither build the MongoDB-only ones nor drop the FerretDB-only ones, and the backup restore of a dump
 * that holds them (as one taken from MongoDB does).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection, Model, mongo } from 'mongoose';
import { BackupService } from '@chat/backup';
import { DatabaseInfo } from '@chat/database';
import { runSetup } from '@chat/migrations';
import { testAppPerSuite } from './support/test-app';

const NO_PROGRESS = { start: () => ({ increment: () => undefined, done: () => undefined }) };

describe('indexes the app builds on the store', () => {
  const t = testAppPerSuite();
  const conn = (): Connection => t.app.get(DatabaseInfo).connection;
  const onFerretDb = (): boolean => t.app.get(DatabaseInfo).dialect === 'ferretdb';
  const names = async (collection: string): Promise<string[]> => (await conn().db!.collection(collection).listIndexes().toArray()).map((i) => String(i.name)).sort();
  // Every model's autoIndex build has finished once its init() has (the same promise mongoose started).
  const built = () => Promise.all(Object.values(conn().models).map((m: Model<unknown>) => m.init()));

  const MESSAGES_UNIQUE = ['_id_', 'tenant_id_1_conversation_id_1_sender_id_1_client_msg_id_1', 'tenant_id_1_conversation_id_1_seq_1'];
  const MESSAGES_MONGO_ONLY = [
    'event_trace.at_1',
    'tenant_id_1_conversation_id_1_change_seq_1',
    'tenant_id_1_conversation_id_1_created_at_1',
    'tenant_id_1_conversation_id_1_search_tokens_1_seq_-1',
    'tenant_id_1_conversation_id_1_thread.parent_id_1_seq_1',
    'tenant_id_1_created_at_1',
    'tenant_id_1_deleted_at_1',
    'tenant_id_1_edited_at_1',
  ];
  const CONVERSATIONS_UNIQUE = ['_id_', 'tenant_id_1_direct_key_1'];
  const CONVERSATIONS_MONGO_ONLY = ['tenant_id_1_created_at_1', 'tenant_id_1_event_trace.at_1', 'tenant_id_1_member_changes.at_1', 'tenant_id_1_participants.user_id_1_updated_at_-1__id_-1', 'tenant_id_1_type_1_updated_at_-1__id_-1'];

  const expected = () =>
    onFerretDb()
      ? { messages: [...MESSAGES_UNIQUE, 'ferretdb_gin_conversation_id'].sort(), conversations: CONVERSATIONS_UNIQUE.sort() }
      : { messages: [...MESSAGES_UNIQUE, ...MESSAGES_MONGO_ONLY].sort(), conversations: [...CONVERSATIONS_UNIQUE, ...CONVERSATIONS_MONGO_ONLY].sort() };

  it('at start (autoIndex): messages and conversations get exactly the indexes of the store', async () => {
    await built();
    expect(await names('messages')).toEqual(expected().messages);
    expect(await names('conversations')).toEqual(expected().conversations);
  });

  it('setup --sync builds and drops nothing more on messages and conversations', async () => {
    await built();
    await runSetup(conn(), [], NO_PROGRESS, { sync: true });
    expect(await names('messages')).toEqual(expected().messages);
    expect(await names('conversations')).toEqual(expected().conversations);
  });

  it('setup --sync keeps the FerretDB GIN indexes of a collection of one model (webhook_pending), not declared to mongoose', async () => {
    await built();
    const before = await names('webhook_pending');
    if (onFerretDb()) expect(before).toContain('ferretdb_gin_parked');
    await runSetup(conn(), [], NO_PROGRESS, { sync: true });
    expect(await names('webhook_pending')).toEqual(before);
  });

  it('a restore builds the archived indexes the store builds: a MongoDB-only one only on MongoDB', async () => {
    const client = conn().getClient() as unknown as mongo.MongoClient;
    const [source, target] = [`${t.dbName}_rsrc`, `${t.dbName}_rdst`];
    const dir = mkdtempSync(join(tmpdir(), 'store-indexes-'));
    try {
      // A dump as MongoDB's messages would give it: a unique index and a MongoDB-only one.
      const messages = client.db(source).collection('messages');
      await messages.createIndex({ tenant_id: 1, conversation_id: 1, seq: 1 }, { unique: true });
      await messages.createIndex({ tenant_id: 1, conversation_id: 1, created_at: 1 });
      await messages.insertOne({ tenant_id: 't', conversation_id: 'c', seq: 1, created_at: new Date() });
      await new BackupService({ client, mainDb: source, dedicated: new Map(), rules: [] }).backup({ target: join(dir, 'dump') });
      await new BackupService({ client, mainDb: target, dedicated: new Map(), rules: [] }).restore({ source: join(dir, 'dump') });
      const restored = (await client.db(target).collection('messages').listIndexes().toArray()).map((i) => String(i.name)).sort();
      const unique = ['_id_', 'tenant_id_1_conversation_id_1_seq_1'];
      expect(restored).toEqual(onFerretDb() ? unique : [...unique, 'tenant_id_1_conversation_id_1_created_at_1'].sort());
    } finally {
      await client.db(source).dropDatabase();
      await client.db(target).dropDatabase();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
