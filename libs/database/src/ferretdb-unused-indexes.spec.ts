import { Schema, type IndexDefinition } from 'mongoose';
import { indexesForStore, mongoOnlyIndex, storeBuildsIndex } from './ferretdb-unused-indexes';

describe('mongoOnlyIndex', () => {
  const schema = new Schema({ tenant_id: String, conversation_id: String, seq: Number, created_at: Date }, { collection: 'unused_index_spec' });
  schema.index({ tenant_id: 1, conversation_id: 1, seq: 1 }, { unique: true });
  mongoOnlyIndex(schema, { tenant_id: 1, conversation_id: 1, created_at: 1 });
  mongoOnlyIndex(schema, { tenant_id: 1, created_at: -1 }, { name: 'by_time' });
  schema.index({ conversation_id: 1, created_at: 1 });

  const keys = (entries: Array<[Record<string, unknown>, unknown]>) => entries.map(([k]) => k);

  it('declares the index on the schema like schema.index, options included', () => {
    expect(schema.indexes()).toHaveLength(4);
    expect(schema.indexes()[2]).toEqual([{ tenant_id: 1, created_at: -1 }, expect.objectContaining({ name: 'by_time' })]);
  });

  it('MongoDB builds every declared index', () => {
    expect(indexesForStore('mongodb', schema, schema.indexes())).toEqual(schema.indexes());
    expect(storeBuildsIndex('mongodb', 'unused_index_spec', { tenant_id: 1, conversation_id: 1, created_at: 1 })).toBe(true);
  });

  it('FerretDB builds all but the MongoDB-only ones', () => {
    expect(keys(indexesForStore('ferretdb', schema, schema.indexes()) as Array<[Record<string, unknown>, unknown]>)).toEqual([
      { tenant_id: 1, conversation_id: 1, seq: 1 },
      { conversation_id: 1, created_at: 1 },
    ]);
  });

  it('compares key patterns with their field order and directions', () => {
    expect(storeBuildsIndex('ferretdb', 'unused_index_spec', { tenant_id: 1, conversation_id: 1, created_at: 1 })).toBe(false);
    expect(storeBuildsIndex('ferretdb', 'unused_index_spec', { tenant_id: 1, created_at: -1 })).toBe(false);
    expect(storeBuildsIndex('ferretdb', 'unused_index_spec', { tenant_id: 1, created_at: 1 })).toBe(true);
    expect(storeBuildsIndex('ferretdb', 'unused_index_spec', { conversation_id: 1, tenant_id: 1, created_at: 1 })).toBe(true);
    expect(storeBuildsIndex('ferretdb', 'other_collection', { tenant_id: 1, conversation_id: 1, created_at: 1 })).toBe(true);
  });

  it('filters diffIndexes entries given as bare key patterns too', () => {
    const toCreate: IndexDefinition[] = [{ tenant_id: 1, conversation_id: 1, created_at: 1 }, { conversation_id: 1, created_at: 1 }];
    expect(indexesForStore('ferretdb', schema, toCreate)).toEqual([{ conversation_id: 1, created_at: 1 }]);
    expect(indexesForStore('mongodb', schema, toCreate)).toEqual(toCreate);
  });

  it('leaves a schema without MongoDB-only indexes alone', () => {
    const plain = new Schema({ a: String });
    plain.index({ a: 1 });
    expect(indexesForStore('ferretdb', plain, plain.indexes())).toEqual(plain.indexes());
  });
});
