import { crossCollectionStage, updateTouchesTenant } from './tenant-guard.plugin';

describe('tenant guard helpers', () => {
  it('spots every update shape that could move a document to another tenant', () => {
    expect(updateTouchesTenant({ $set: { title: 'x' }, $inc: { n: 1 } })).toBe(false);
    expect(updateTouchesTenant({ $set: { tenant_id: 'b' } })).toBe(true);
    expect(updateTouchesTenant({ $set: { 'tenant_id.x': 1 } })).toBe(true);
    expect(updateTouchesTenant({ tenant_id: 'b' })).toBe(true);
    expect(updateTouchesTenant({ $unset: { tenant_id: '' } })).toBe(true);
    expect(updateTouchesTenant({ $rename: { owner: 'tenant_id' } })).toBe(true);
    expect(updateTouchesTenant([{ $set: { x: 1 } }])).toBe(true);
    expect(updateTouchesTenant({ $setOnInsert: { tenant_id: 'a' } }, 'a')).toBe(false);
    expect(updateTouchesTenant({ $setOnInsert: { tenant_id: 'b' } }, 'a')).toBe(true);
  });

  it('finds stages that reach other collections, also inside $facet', () => {
    expect(crossCollectionStage([{ $match: {} }, { $group: { _id: 1 } }])).toBeUndefined();
    expect(crossCollectionStage([{ $match: {} }, { $unionWith: 'x' }])).toBe('$unionWith');
    expect(crossCollectionStage([{ $facet: { a: [{ $match: {} }], b: [{ $lookup: {} }] } }])).toBe('$lookup');
    expect(crossCollectionStage([{ $out: 'x' }])).toBe('$out');
  });
});
