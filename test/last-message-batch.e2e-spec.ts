/*
 * ConversationsRepository.setLastMessages (the LastMessageWriter's flush): several conversations'
 * last_message writes in one database command, on the test store (FerretDB) through both StoreDialect
 * branches, and on FerretDB their document leases in one Redis round trip, with a lease held by another
 * process. Real FerretDB and Redis.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import mongoose, { Connection } from 'mongoose';
import { ConversationDoc, ConversationSchema, ConversationsRepository, LastMessageDoc } from '@chat/chat';
import { DatabaseInfo, DocumentWriteLock, StoreDialect, StoreDialectName } from '@chat/database';
import { RedisLeases, type RedisService } from '@chat/redis';
import { asTenantId, setIdOnlyLookups, TenantConnectionResolver, TenantContext } from '@chat/tenancy';
import { waitFor } from './support/wait-for';

jest.setTimeout(60_000);

/** Sent an hour from now (after the conversations' creation, so updated_at moves to it), a second per seq. */
const base = Date.now() + 3_600_000;
const lm = (seq: number): LastMessageDoc => ({ content_preview: `p${seq}`, sender_id: 'u', sent_at: new Date(base + seq * 1000), seq, message_id: `m${seq}` });

describe.each(['mongodb', 'ferretdb'] as StoreDialectName[])('setLastMessages, %s branch, on the test store', (name) => {
  let conn: Connection;
  let redis: Redis;
  let repo: ConversationsRepository;
  const prefix = `lmb_${randomBytes(4).toString('hex')}:`;
  const tenant = asTenantId(`t_${randomBytes(4).toString('hex')}`);
  const inTenant = <T>(fn: () => Promise<T>) => TenantContext.run({ tenantId: tenant }, fn);
  /** `update` commands sent to the store. */
  let updates = 0;

  beforeAll(async () => {
    conn = await mongoose.createConnection(process.env.MONGODB_URI!, { dbName: `lmbatch_${randomBytes(4).toString('hex')}`, monitorCommands: true }).asPromise();
    conn.getClient().on('commandStarted', (e) => {
      if (e.commandName === 'update') updates++;
    });
    setIdOnlyLookups(conn, name === 'ferretdb');
    redis = new Redis(process.env.REDIS_URL!);
    const redisService = { client: redis, key: (...parts: Array<string | number>) => prefix + parts.join(':') } as unknown as RedisService;
    const db = { capabilities: { server: name }, dialect: name } as unknown as DatabaseInfo;
    const dialect = new StoreDialect(db, new DocumentWriteLock(db, redisService));
    const model = conn.model<ConversationDoc>('Conversation', ConversationSchema);
    await model.init();
    repo = new ConversationsRepository(model, new TenantConnectionResolver(undefined), dialect);
  });
  afterAll(async () => {
    await conn?.dropDatabase().catch(() => undefined);
    await conn?.close();
    redis?.disconnect();
  });

  const newConversations = (n: number) =>
    inTenant(async () => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push(String((await repo.create({ type: 'group', participants: [], metadata: {} as ConversationDoc['metadata'], createdBy: null })).conversation._id));
      return ids;
    });
  const stored = (ids: string[]) =>
    inTenant(async () => Promise.all(ids.map(async (id) => {
      const c = (await repo.findConversation(id))!;
      return [c.last_message?.seq ?? null, c.last_seq, c.updated_at.toISOString()];
    })));

  it('writes several conversations in one command; never moves last_message back; last_seq only up', async () => {
    const [a, b, c, d] = await newConversations(4);
    updates = 0;
    const out = await inTenant(() =>
      repo.setLastMessages([
        { conversationId: a!, last: lm(3), lastSeq: 3 },
        { conversationId: b!, last: lm(5), lastSeq: 6 },
        { conversationId: c!, last: null, lastSeq: 2 },
        { conversationId: 'not-an-id', last: lm(1), lastSeq: 1 },
      ]),
    );
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(updates).toBe(1);
    const t = (s: number) => lm(s).sent_at.toISOString();
    expect(await stored([a!, b!, c!])).toEqual([
      [3, 3, t(3)],
      [5, 6, t(5)],
      [null, 2, expect.any(String)],
    ]);
    // An older last_message (a late batch) leaves last_message and updated_at, and still raises last_seq.
    updates = 0;
    await inTenant(() =>
      repo.setLastMessages([
        { conversationId: a!, last: lm(2), lastSeq: 4 },
        { conversationId: b!, last: lm(7), lastSeq: 7 },
        { conversationId: d!, last: lm(1), lastSeq: 1 },
      ]),
    );
    // One command, and one more because a statement matched nothing (a's older last_message).
    expect(updates).toBe(2);
    expect(await stored([a!, b!, d!])).toEqual([
      [3, 4, t(3)],
      [7, 7, t(7)],
      [1, 1, t(1)],
    ]);
  });

  if (name === 'ferretdb') {
    it('a lease held by another process: the free conversations are written at once, that one once the lease is free', async () => {
      const [a, b, c] = await newConversations(3);
      // Another process holding b's document lease (its own connection and token), until we let go.
      const other = new Redis(process.env.REDIS_URL!);
      let letGo!: () => void;
      let holding!: () => void;
      const held = new Promise<void>((r) => (holding = r));
      const otherHolds = new RedisLeases(other).run(`${prefix}doclock:conversations:${tenant}|${b}`, async () => {
        holding();
        await new Promise<void>((r) => (letGo = r));
      });
      try {
        await held;
        updates = 0;
        let settled = false;
        const write = inTenant(() =>
          repo.setLastMessages([
            { conversationId: a!, last: lm(1), lastSeq: 1 },
            { conversationId: b!, last: lm(2), lastSeq: 2 },
            { conversationId: c!, last: lm(3), lastSeq: 3 },
          ]),
        ).finally(() => (settled = true));
        await waitFor(async () => (await stored([a!, c!])).every(([seq]) => seq !== null), { what: 'a and c written' });
        // a and c went in one command while b waits for its lease.
        expect(updates).toBe(1);
        expect(settled).toBe(false);
        expect((await stored([b!]))[0]![0]).toBeNull();
        letGo();
        await otherHolds;
        expect((await write).map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
        expect((await stored([a!, b!, c!])).map(([seq]) => seq)).toEqual([1, 2, 3]);
        expect(updates).toBe(2);
        // Every lease released.
        expect(await redis.exists(...[a!, b!, c!].map((id) => `${prefix}doclock:conversations:${tenant}|${id}`))).toBe(0);
      } finally {
        letGo?.();
        other.disconnect();
      }
    });
  }
});
