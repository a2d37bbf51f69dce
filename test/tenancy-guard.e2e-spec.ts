/* The Mongoose-level guard, against real FerretDB: code that skips the repositories and talks to a
 * tenant model directly still cannot read or write across tenants. */
import { randomBytes } from 'node:crypto';
import mongoose, { Connection, Model, Schema, Types } from 'mongoose';
import { TenantScopeViolationError, tenantGuardPlugin } from '@chat/tenancy';

interface Note {
  tenant_id: string;
  title: string;
  n: number;
}

describe('tenantGuardPlugin (bypassing repositories, real FerretDB)', () => {
  let conn: Connection;
  let Notes: Model<Note>;
  let aId: Types.ObjectId;
  let bId: Types.ObjectId;

  beforeAll(async () => {
    conn = await mongoose.createConnection(process.env.MONGODB_URI!, { dbName: `guard_${randomBytes(4).toString('hex')}` }).asPromise();
    // tenant_id deliberately not `required`: the plugin alone must refuse a document without it.
    const schema = new Schema<Note>({ tenant_id: String, title: String, n: Number }, { collection: 'guard_notes' });
    schema.plugin(tenantGuardPlugin);
    Notes = conn.model<Note>('GuardNote', schema);
    // Look-alike data in two tenants.
    const raw = conn.db!.collection('guard_notes');
    aId = new Types.ObjectId();
    bId = new Types.ObjectId();
    await raw.insertMany([
      { _id: aId, tenant_id: 'tA', title: 'same', n: 1 },
      { _id: bId, tenant_id: 'tB', title: 'same', n: 1 },
    ]);
  });
  afterAll(async () => {
    await conn?.dropDatabase().catch(() => undefined);
    await conn?.close();
  });

  const refused = (p: Promise<unknown> | { exec(): Promise<unknown> }) =>
    expect('exec' in p ? p.exec() : p).rejects.toBeInstanceOf(TenantScopeViolationError);

  async function tenantBUntouched(): Promise<void> {
    const docs = await conn.db!.collection('guard_notes').find({ tenant_id: 'tB' }).toArray();
    expect(docs).toEqual([{ _id: bId, tenant_id: 'tB', title: 'same', n: 1 }]);
  }

  it('refuses reads with no tenant, or with a tenant condition that spans tenants', async () => {
    await refused(Notes.find({}));
    await refused(Notes.find({ title: 'same' }));
    await refused(Notes.find({ tenant_id: { $ne: 'tA' } }));
    await refused(Notes.find({ tenant_id: { $in: ['tA', 'tB'] } }));
    await refused(Notes.find({ $or: [{ tenant_id: 'tA' }, { tenant_id: 'tB' }] }));
    await refused(Notes.findOne({ _id: bId }));
    await refused(Notes.findById(bId));
    await refused(Notes.exists({ _id: bId }));
    await refused(Notes.countDocuments({}));
    await refused(Notes.estimatedDocumentCount());
    await refused(Notes.distinct('title'));
    await refused(Notes.aggregate([{ $group: { _id: '$title', c: { $sum: 1 } } }]));
    await refused(Notes.aggregate([{ $match: { title: 'same' } }]));
    await refused(Notes.aggregate([{ $match: { tenant_id: 'tA' } }, { $unionWith: { coll: 'guard_notes' } }]));
    await refused(Notes.aggregate([{ $match: { tenant_id: 'tA' } }, { $lookup: { from: 'guard_notes', localField: 'title', foreignField: 'title', as: 'x' } }]));
  });

  it('allows reads pinned to one tenant and they only see that tenant', async () => {
    expect((await Notes.find({ tenant_id: 'tA' }).lean()).map((d) => d.tenant_id)).toEqual(['tA']);
    expect(await Notes.countDocuments({ tenant_id: 'tA', title: 'same' })).toBe(1);
    expect(await Notes.findOne({ tenant_id: 'tA', _id: bId })).toBeNull();
    const agg = await Notes.aggregate([{ $match: { tenant_id: 'tA' } }, { $group: { _id: '$title', c: { $sum: 1 } } }]);
    expect(agg).toEqual([{ _id: 'same', c: 1 }]);
  });

  it('refuses writes with no tenant or that move a document to another tenant', async () => {
    await refused(Notes.updateMany({}, { $set: { title: 'x' } }));
    await refused(Notes.updateOne({ _id: bId }, { $set: { title: 'x' } }));
    await refused(Notes.updateOne({ tenant_id: 'tA' }, { $set: { tenant_id: 'tB' } }));
    await refused(Notes.updateOne({ tenant_id: 'tA' }, { tenant_id: 'tB' }));
    await refused(Notes.updateOne({ tenant_id: 'tA' }, { $unset: { tenant_id: '' } }));
    await refused(Notes.updateOne({ tenant_id: 'tA' }, { $rename: { title: 'tenant_id' } }));
    await refused(Notes.updateOne({ tenant_id: 'tA' }, [{ $set: { tenant_id: 'tB' } }]));
    await refused(Notes.updateOne({ tenant_id: 'tA', title: 'new' }, { $setOnInsert: { tenant_id: 'tB' } }, { upsert: true }));
    await refused(Notes.findOneAndUpdate({ _id: bId }, { $inc: { n: 1 } }));
    await refused(Notes.replaceOne({ tenant_id: 'tA', _id: aId }, { title: 'no tenant' }));
    await refused(Notes.replaceOne({ tenant_id: 'tA', _id: aId }, { tenant_id: 'tB', title: 'moved' }));
    await refused(Notes.deleteMany({}));
    await refused(Notes.deleteOne({ _id: bId }));
    await refused(Notes.findOneAndDelete({ _id: bId }));
    await refused(Notes.create({ title: 'orphan', n: 0 } as Note));
    await refused(Notes.insertMany([{ tenant_id: 'tA', title: 'ok', n: 0 }, { title: 'orphan', n: 0 }]));
    await refused(Notes.bulkWrite([{ updateMany: { filter: {}, update: { $set: { n: 9 } } } }]));
    await refused(Notes.bulkWrite([{ updateOne: { filter: { tenant_id: 'tA' }, update: { $set: { tenant_id: 'tB' } } } }]));
    await refused(Notes.bulkWrite([{ replaceOne: { filter: { tenant_id: 'tA' }, replacement: { tenant_id: 'tB', title: 'x', n: 0 } } }]));
    const doc = await Notes.findOne({ tenant_id: 'tA', _id: aId });
    doc!.tenant_id = 'tB';
    await refused(doc!.save());
    await tenantBUntouched();
  });

  it('allows writes pinned to one tenant that keep it', async () => {
    await Notes.updateOne({ tenant_id: 'tA', _id: aId }, { $inc: { n: 1 } });
    await Notes.updateOne({ tenant_id: 'tA', title: 'upserted' }, { $setOnInsert: { tenant_id: 'tA', n: 0 } }, { upsert: true });
    await Notes.replaceOne({ tenant_id: 'tA', title: 'upserted' }, { tenant_id: 'tA', title: 'replaced', n: 5 });
    await Notes.create({ tenant_id: 'tA', title: 'created', n: 0 });
    expect(await Notes.countDocuments({ tenant_id: 'tA' })).toBe(3);
    await tenantBUntouched();
  });
});
