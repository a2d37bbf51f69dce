import { Types } from 'mongoose';
import { bareIdOf, IdOwnerCache, idReadOf } from './id-lookups';

describe('bare-id lookups', () => {
  const id = new Types.ObjectId();

  it('takes only a filter that names the _id and nothing but the own tenant', () => {
    expect(bareIdOf({ _id: id }, 't1')).toBe(id);
    expect(bareIdOf({ _id: id, tenant_id: 't1' }, 't1')).toBe(id);
    expect(bareIdOf({ _id: 'abc' }, 't1')).toBe('abc');
    expect(bareIdOf({ _id: id, tenant_id: 't2' }, 't1')).toBeUndefined();
    expect(bareIdOf({ _id: id, title: 'x' }, 't1')).toBeUndefined();
    expect(bareIdOf({ _id: { $in: [id] } }, 't1')).toBeUndefined();
    expect(bareIdOf({ _id: '' }, 't1')).toBeUndefined();
    expect(bareIdOf({ title: 'x' }, 't1')).toBeUndefined();
    expect(bareIdOf(undefined, 't1')).toBeUndefined();
  });

  it('splits _id plus plain equalities into a fetch and a check with the server semantics', () => {
    const read = idReadOf({ _id: id, conversation_id: 'c1', deleted_at: null, tenant_id: 't1' }, 't1')!;
    expect(read.id).toBe(id);
    expect(read.matches({ conversation_id: 'c1', deleted_at: null })).toBe(true);
    expect(read.matches({ conversation_id: 'c1' })).toBe(true); // null matches a missing field
    expect(read.matches({ conversation_id: 'c2', deleted_at: null })).toBe(false);
    expect(read.matches({ conversation_id: 'c1', deleted_at: new Date() })).toBe(false);
    // A field holding an array matches when one element does; ObjectIds compare by value.
    const other = new Types.ObjectId();
    const arr = idReadOf({ _id: id, tags: 'red', ref: new Types.ObjectId(other.toHexString()) }, 't1')!;
    expect(arr.matches({ tags: ['blue', 'red'], ref: other })).toBe(true);
    expect(arr.matches({ tags: ['blue'], ref: other })).toBe(false);
  });

  it('leaves operators, dotted paths, objects and foreign tenants to the server', () => {
    expect(idReadOf({ _id: id, seq: { $gt: 1 } }, 't1')).toBeUndefined();
    expect(idReadOf({ _id: id, 'thread.parent_id': 'p' }, 't1')).toBeUndefined();
    expect(idReadOf({ _id: id, $or: [{ a: 1 }] }, 't1')).toBeUndefined();
    expect(idReadOf({ _id: id, at: new Date() }, 't1')).toBeUndefined();
    expect(idReadOf({ _id: id, tenant_id: 't2' }, 't1')).toBeUndefined();
    expect(idReadOf({ conversation_id: 'c1' }, 't1')).toBeUndefined();
  });

  it('remembers a bounded number of owners, oldest evicted first', () => {
    const cache = new IdOwnerCache(2);
    cache.set('a', 't1');
    cache.set('b', 't2');
    cache.set('c', 't1');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe('t2');
    expect(cache.get('c')).toBe('t1');
    cache.delete('c');
    expect(cache.get('c')).toBeUndefined();
  });
});
