import type { RedisService } from '@chat/redis';
import type { DatabaseInfo } from './database-info';
import { DocumentWriteLock } from './document-write-lock';
import { dialectOf, MongoCapabilities } from './mongo-capabilities';
import { StoreDialect } from './store-dialect';
import { EVENT_TRACE_KEPT, EventTrace, eventTrace } from './event-trace';

describe('StoreDialect', () => {
  const dialectFor = (server?: 'mongodb' | 'ferretdb') => {
    const capabilities = server ? ({ server } as MongoCapabilities) : undefined;
    const db = { capabilities, dialect: dialectOf(capabilities) } as unknown as DatabaseInfo;
    return new StoreDialect(db, new DocumentWriteLock(db, { client: null } as unknown as RedisService));
  };

  it('is chosen from the detected server, FerretDB while unknown', () => {
    expect(dialectFor('mongodb').name).toBe('mongodb');
    expect(dialectFor('ferretdb').name).toBe('ferretdb');
    expect(dialectFor().name).toBe('ferretdb');
  });

  it('asks for a findAndModify projection only on MongoDB', () => {
    expect(dialectFor('mongodb').findAndModifyProjection({ last_seq: 1 })).toEqual({ projection: { last_seq: 1 } });
    expect(dialectFor('ferretdb').findAndModifyProjection({ last_seq: 1 })).toEqual({});
  });

  it('sends updates as one bulk on MongoDB and one by one on FerretDB', async () => {
    for (const [server, bulks, ones] of [['mongodb', 1, 0], ['ferretdb', 0, 3]] as const) {
      let b = 0;
      let o = 0;
      await dialectFor(server).sendUpdates([1, 2, 3], async () => void b++, async () => void o++);
      expect([b, o]).toEqual([bulks, ones]);
    }
  });

  it('updateTogether: one command per 1,000 on MongoDB, per 16 held documents on FerretDB; a busy document alone, after its lock', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `d${i}`);
    const mongo: string[][] = [];
    await dialectFor('mongodb').updateTogether('s', ids, { many: async (chunk) => void mongo.push(chunk), one: async () => undefined });
    expect(mongo).toEqual([ids]);
    const ferret = dialectFor('ferretdb');
    let letGo!: () => void;
    const holder = ferret.serialised('s', 'd3', () => new Promise<void>((r) => (letGo = r)));
    const sent: string[][] = [];
    const alone: string[] = [];
    const out = ferret.updateTogether('s', ids, {
      many: async (chunk) => {
        sent.push(chunk);
        if (chunk.includes('d0')) throw new Error('command failed');
      },
      one: async (id) => void alone.push(id),
    });
    await new Promise((r) => setImmediate(r));
    expect(sent.map((c) => c.length)).toEqual([16, 3]);
    expect(alone).toEqual([]);
    letGo();
    await holder;
    const results = await out;
    expect(alone).toEqual(['d3']);
    // The first command failed: its 16 ids; the rest were written.
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(16);
    expect(results[3]!.status).toBe('fulfilled');
  });

  it('lockFor: the lock serialised takes, its scope read at each call and its id made from the key', async () => {
    const ferret = dialectFor('ferretdb');
    let tenant = 't1';
    const lock = ferret.lockFor<[string, string]>(() => `pins:${tenant}`, ([c, m]) => `${c}:${m}`);
    expect(lock.scope()).toBe('pins:t1');
    let letGo!: () => void;
    const holder = ferret.serialised('pins:t1', 'c:m', () => new Promise<void>((r) => (letGo = r)));
    const ran: string[] = [];
    const same = lock(['c', 'm'], async () => void ran.push('same'));
    const several = lock.many([['c', 'x'], ['c', 'm']], async () => void ran.push('many'));
    tenant = 't2';
    const other = lock(['c', 'm'], async () => void ran.push('other tenant'));
    await other;
    expect(ran).toEqual(['other tenant']);
    letGo();
    await Promise.all([holder, same, several]);
    expect(ran).toEqual(['other tenant', 'same', 'many']);
  });

  it('reads several documents with one find on MongoDB, one bare-_id find each on FerretDB (a few at a time)', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `d${i}`);
    let many = 0;
    let inFlight = 0;
    let most = 0;
    const how = {
      many: async () => (many++, ['d1']),
      one: async (id: string) => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setImmediate(r));
        inFlight--;
        return id.endsWith('1') ? id : null;
      },
    };
    expect(await dialectFor('mongodb').readEach(ids, how)).toEqual(['d1']);
    expect(many).toBe(1);
    expect(await dialectFor('ferretdb').readEach(ids, how, 4)).toEqual(['d1', 'd11']);
    expect(most).toBe(4);
    expect(await dialectFor('ferretdb').readEach([], how)).toEqual([]);
  });

  it('changes documents with one call on MongoDB; on FerretDB one write each, atOnce in flight, a slow one holding no other slot', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `d${i}`);
    expect(await dialectFor('mongodb').changeEach('s', ids, { many: async () => ['all'], one: async () => 'one' })).toEqual(['all']);
    // d0 answers only once every other write is done: lock-step groups of 4 would wait for it after d3.
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const done = new Set<string>();
    let inFlight = 0;
    let most = 0;
    const changed = dialectFor('ferretdb').changeEach(
      's',
      ids,
      {
        many: async () => [],
        one: async (id) => {
          most = Math.max(most, ++inFlight);
          if (id === 'd0') await slow;
          else await new Promise((r) => setImmediate(r));
          inFlight--;
          done.add(id);
          if (done.size === ids.length - 1) release();
          return id === 'd5' ? null : id;
        },
      },
      4,
    );
    expect(await changed).toEqual(ids.filter((id) => id !== 'd5'));
    expect(most).toBe(4);
  });

  it('updates each matching document with updateMany on MongoDB, one locked update each on FerretDB', async () => {
    const how = { many: async () => 7, ids: async () => ['a', 'b'], one: async () => 1 };
    expect(await dialectFor('mongodb').updateEach('s', how)).toBe(7);
    expect(await dialectFor('ferretdb').updateEach('s', how)).toBe(2);
  });

  it('appends an event trace with $push/$slice on MongoDB, and as a bounded $set of the read log on FerretDB', async () => {
    const t = eventTrace('x.y', { id: 1 }, new Date(0), 'k');
    const read = jest.fn(async () => Array.from({ length: EVENT_TRACE_KEPT }, (_, i) => eventTrace('x.y', {}, new Date(0), `old${i}`)));
    expect(await dialectFor('mongodb').traceUpdate(t, read)).toEqual({ $push: { event_trace: { $each: [t], $slice: -EVENT_TRACE_KEPT } } });
    expect(read).not.toHaveBeenCalled();
    const set = (await dialectFor('ferretdb').traceUpdate(t, read)).$set!.event_trace as EventTrace[];
    expect(set).toHaveLength(EVENT_TRACE_KEPT);
    expect(set[0]!.key).toBe('old1');
    expect(set[EVENT_TRACE_KEPT - 1]).toBe(t);
    expect(((await dialectFor('ferretdb').traceUpdate(t, async () => undefined)).$set!.event_trace as EventTrace[])).toEqual([t]);
  });
});
