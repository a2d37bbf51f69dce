import type { RedisService } from '@chat/redis';
import type { DatabaseInfo } from './database-info';
import { DocumentWriteLock } from './document-write-lock';
import { dialectOf, MongoCapabilities } from './mongo-capabilities';
import { StoreDialect } from './store-dialect';

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

  it('updates each matching document with updateMany on MongoDB, one locked update each on FerretDB', async () => {
    const how = { many: async () => 7, ids: async () => ['a', 'b'], one: async () => 1 };
    expect(await dialectFor('mongodb').updateEach('s', how)).toBe(7);
    expect(await dialectFor('ferretdb').updateEach('s', how)).toBe(2);
  });
});
