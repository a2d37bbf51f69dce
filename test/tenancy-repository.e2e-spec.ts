/* Randomized test of TenantRepository against real FerretDB: generated filters, updates, upserts,
 * deletes, counts, distincts and aggregates for several tenants over look-alike data. After every
 * command, no result may hold another tenant's document and every other tenant's documents must be
 * byte-for-byte unchanged. */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import mongoose, { Connection, Model, Schema, Types } from 'mongoose';
import type { FilterQuery, PipelineStage, UpdateQuery } from 'mongoose';
import {
  asTenantId,
  CrossTenantWriteError,
  MissingTenantContextError,
  TenantConnectionResolver,
  TenantContext,
  tenantGuardPlugin,
  TenantId,
  TenantRepository,
  TenantScopeViolationError,
  setIdOnlyLookups,
} from '@chat/tenancy';

interface Note {
  tenant_id: string;
  title: string;
  owner: string;
  n: number;
  tags: string[];
}

/** Opens the protected helpers for the test; real repositories expose intent-named methods instead. */
class NoteRepository extends TenantRepository<Note> {
  constructor(model: Model<Note>, resolver?: TenantConnectionResolver) {
    super(model, resolver);
  }
  list = (f: FilterQuery<Note>) => this.find(f, { sort: { _id: 1 } });
  one = (f: FilterQuery<Note>) => this.findOne(f);
  titleOf = (f: FilterQuery<Note>) => this.findOne(f, { title: 1 });
  justId = (f: FilterQuery<Note>) => this.findOne(f, { _id: 1 });
  has = (f: FilterQuery<Note>) => this.exists(f);
  byId = (id: unknown) => this.findById(id);
  count = (f: FilterQuery<Note>) => this.countDocuments(f);
  titles = (f: FilterQuery<Note>) => this.distinct<string>('title', f);
  add = (d: Omit<Note, 'tenant_id'>) => this.insertOne(d);
  addMany = (d: Array<Omit<Note, 'tenant_id'>>) => this.insertMany(d);
  patchMany = (f: FilterQuery<Note>, u: UpdateQuery<Note>) => this.updateMany(f, u);
  upsert = (f: FilterQuery<Note>, u: UpdateQuery<Note>) => this.updateOne(f, u, { upsert: true });
  patchOne = (f: FilterQuery<Note>, u: UpdateQuery<Note>) => this.findOneAndUpdate(f, u);
  removeMany = (f: FilterQuery<Note>) => this.deleteMany(f);
  removeOne = (f: FilterQuery<Note>) => this.findOneAndDelete(f);
  group = (p: PipelineStage[]) => this.aggregate<{ _id: string; c: number }>(p);
  bulk = (ops: Parameters<TenantRepository<Note>['bulkWrite']>[0]) => this.bulkWrite(ops);
}

const TENANTS = ['tenantA', 'tenantB', 'tenantC'].map(asTenantId);
const TITLES = ['alpha', 'beta', 'gamma'];
const OWNERS = ['u1', 'u2'];
const TAGS = ['red', 'blue'];

// Filters built only from what a caller could write; some name another tenant on purpose.
const filterArb: fc.Arbitrary<FilterQuery<Note>> = fc.oneof(
  fc.constant({}),
  fc.record({ title: fc.constantFrom(...TITLES) }),
  fc.record({ owner: fc.constantFrom(...OWNERS), n: fc.record({ $gte: fc.integer({ min: 0, max: 5 }) }) }),
  fc.record({ tags: fc.constantFrom(...TAGS) }),
  fc.record({ $or: fc.array(fc.record({ title: fc.constantFrom(...TITLES) }), { minLength: 1, maxLength: 2 }) }),
  fc.record({ title: fc.record({ $in: fc.subarray(TITLES, { minLength: 1 }) }) }),
  fc.record({ tenant_id: fc.constantFrom(...TENANTS), title: fc.constantFrom(...TITLES) }),
);

const updateArb: fc.Arbitrary<UpdateQuery<Note>> = fc.oneof(
  fc.record({ $set: fc.record({ title: fc.constantFrom(...TITLES) }) }),
  fc.record({ $inc: fc.record({ n: fc.integer({ min: 1, max: 3 }) }) }),
  fc.record({ $set: fc.record({ owner: fc.constantFrom(...OWNERS) }), $addToSet: fc.record({ tags: fc.constantFrom(...TAGS) }) }),
  // Hostile: try to move documents to another tenant.
  fc.record({ $set: fc.record({ tenant_id: fc.constantFrom(...TENANTS) }) }),
  fc.record({ $rename: fc.constant({ owner: 'tenant_id' }) }),
);

type Command =
  | { op: 'list' | 'count' | 'titles' | 'removeMany' | 'removeOne' | 'one' | 'group'; filter: FilterQuery<Note> }
  | { op: 'patchMany' | 'upsert' | 'patchOne'; filter: FilterQuery<Note>; update: UpdateQuery<Note> }
  | { op: 'add' | 'addMany'; title: string; owner: string }
  | { op: 'foreignId'; victim: number }
  | { op: 'ownId'; victim: number; update: UpdateQuery<Note> }
  | { op: 'bulk'; filter: FilterQuery<Note>; update: UpdateQuery<Note>; title: string };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constantFrom('list', 'count', 'titles', 'removeMany', 'removeOne', 'one', 'group') as fc.Arbitrary<'list'>, filter: filterArb }),
  fc.record({ op: fc.constantFrom('patchMany', 'upsert', 'patchOne') as fc.Arbitrary<'patchMany'>, filter: filterArb, update: updateArb }),
  fc.record({ op: fc.constantFrom('add', 'addMany') as fc.Arbitrary<'add'>, title: fc.constantFrom(...TITLES), owner: fc.constantFrom(...OWNERS) }),
  fc.record({ op: fc.constant('foreignId' as const), victim: fc.nat() }),
  fc.record({ op: fc.constant('ownId' as const), victim: fc.nat(), update: updateArb }),
  fc.record({ op: fc.constant('bulk' as const), filter: filterArb, update: updateArb, title: fc.constantFrom(...TITLES) }),
);

// Both by-id strategies: `{tenant_id, _id}` filters (MongoDB) and bare `{_id}` lookups checked by the
// repository (what FerretDB gets, see libs/tenancy/src/id-lookups.ts). Either runs on either server.
describe.each([
  ['scoped by-id filters', false],
  ['bare-id lookups', true],
])('TenantRepository (randomized, several tenants, real database): %s', (_label, idOnly) => {
  let conn: Connection;
  let model: Model<Note>;
  let repo: NoteRepository;

  beforeAll(async () => {
    conn = await mongoose.createConnection(process.env.MONGODB_URI!, { dbName: `repo_${randomBytes(4).toString('hex')}` }).asPromise();
    setIdOnlyLookups(conn, idOnly);
    const schema = new Schema<Note>({ tenant_id: String, title: String, owner: String, n: Number, tags: [String] }, { collection: 'notes', versionKey: false });
    schema.plugin(tenantGuardPlugin);
    model = conn.model<Note>(`RandNote${idOnly ? 'Id' : ''}`, schema);
    repo = new NoteRepository(model);
  });
  afterAll(async () => {
    await conn?.dropDatabase().catch(() => undefined);
    await conn?.close();
  });

  const raw = () => conn.db!.collection('notes');
  /** The same filter pinned to the tenant by hand, for the raw driver's reference answers. */
  const pinned = (f: FilterQuery<Note>, t: TenantId) => ({ ...f, tenant_id: t }) as Record<string, any>;
  const others = async (t: TenantId) => JSON.stringify(await raw().find({ tenant_id: { $ne: t } }).sort({ _id: 1 }).toArray());

  async function seed(): Promise<void> {
    await raw().deleteMany({});
    const docs = [];
    for (const tenant_id of TENANTS) {
      for (const title of TITLES) for (const owner of OWNERS) docs.push({ tenant_id, title, owner, n: docs.length % 6, tags: [TAGS[docs.length % 2]] });
    }
    await raw().insertMany(docs);
  }

  /** Runs one command as `t`; returns documents the command handed back (for the ownership check). */
  async function run(t: TenantId, c: Command): Promise<unknown[]> {
    switch (c.op) {
      case 'list':
        return repo.list(c.filter);
      case 'one':
        return [await repo.one(c.filter)].filter(Boolean);
      case 'count': {
        const n = await repo.count(c.filter);
        expect(n).toBe(await raw().countDocuments(pinned(c.filter, t)));
        return [];
      }
      case 'titles': {
        const got = (await repo.titles(c.filter)).sort();
        expect(got).toEqual(((await raw().distinct('title', pinned(c.filter, t))) as string[]).sort());
        return [];
      }
      case 'group': {
        const rows = await repo.group([{ $match: c.filter }, { $group: { _id: '$title', c: { $sum: 1 } } }]);
        expect(rows.reduce((s, r) => s + r.c, 0)).toBe(await raw().countDocuments(pinned(c.filter, t)));
        return [];
      }
      case 'removeMany':
        await repo.removeMany(c.filter);
        return [];
      case 'removeOne':
        return [await repo.removeOne(c.filter)].filter(Boolean);
      case 'patchMany':
        await repo.patchMany(c.filter, c.update);
        return [];
      case 'upsert':
        await repo.upsert(c.filter, c.update);
        return [];
      case 'patchOne':
        return [await repo.patchOne(c.filter, c.update)].filter(Boolean);
      case 'add':
        return [await repo.add({ title: c.title, owner: c.owner, n: 0, tags: [] })];
      case 'addMany':
        return repo.addMany([{ title: c.title, owner: c.owner, n: 1, tags: [] }]);
      case 'foreignId': {
        // An id of another tenant behaves exactly like a missing one.
        const foreign = await raw().find({ tenant_id: { $ne: t } }).toArray();
        if (!foreign.length) return [];
        const id = foreign[c.victim % foreign.length]._id;
        expect(await repo.byId(id)).toBeNull();
        expect(await repo.byId(id.toHexString())).toBeNull();
        expect(await repo.patchOne({ _id: id }, { $inc: { n: 100 } })).toBeNull();
        expect(await repo.removeOne({ _id: id })).toBeNull();
        return [];
      }
      case 'ownId': {
        // By-id reads and writes of the tenant's own documents behave like the raw driver's.
        const own = await raw().find({ tenant_id: t }).sort({ _id: 1 }).toArray();
        if (!own.length) return [];
        const id = own[c.victim % own.length]._id;
        expect(await repo.byId(id)).toEqual(await raw().findOne({ _id: id }));
        // _id plus plain equalities (checked by the repository itself on the bare-id path).
        for (const title of TITLES) {
          expect(await repo.one({ _id: id, title })).toEqual(await raw().findOne({ _id: id, title }));
          expect(await repo.has({ _id: id, title })).toBe((await raw().countDocuments({ _id: id, title })) === 1);
        }
        expect(await repo.has({ _id: id })).toBe(true);
        // Projections come back with what was asked for (tenant_id may ride along: the repository checks it).
        expect(await repo.titleOf({ _id: id })).toMatchObject((await raw().findOne({ _id: id }, { projection: { title: 1 } }))!);
        expect(await repo.justId({ _id: id })).toMatchObject({ _id: id });
        const updated = await repo.patchOne({ _id: id }, c.update);
        expect(updated).toEqual(await raw().findOne({ _id: id }));
        return [updated].filter(Boolean);
      }
      case 'bulk':
        await repo.bulk([
          { updateMany: { filter: c.filter, update: c.update } },
          { insertOne: { document: { title: c.title, owner: 'u1', n: 0, tags: [] } as unknown as Note } },
          { deleteOne: { filter: c.filter } },
        ]);
        return [];
    }
  }

  it('never reads or writes another tenant, whatever the filter and update', async () => {
    await seed();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...TENANTS), commandArb), { minLength: 1, maxLength: 5 }), async (steps) => {
        for (const [t, c] of steps) {
          const before = await others(t);
          let results: unknown[] = [];
          try {
            results = await TenantContext.run({ tenantId: t }, () => run(t, c));
          } catch (err) {
            // Hostile input is refused, never executed. Generated updates can also meet data they do not
            // fit (an upsert from `{ tags: 'red' }` stores a string, a later $addToSet on it fails): the
            // server's refusal is fine as long as the other tenants stay untouched, checked below.
            const dataError = err instanceof Error && /^Mongo(Server|BulkWrite)Error$/.test(err.name);
            // FerretDB v1.24 answers that same misfit inside an upsert with a panic that closes the
            // connection (types.Document.Get: key not found: "_id"); the driver reconnects for the next call.
            const ferretUpsertPanic = c.op === 'upsert' && err instanceof Error && err.name === 'MongoNetworkError';
            if (!(err instanceof CrossTenantWriteError || err instanceof TenantScopeViolationError || dataError || ferretUpsertPanic)) throw err;
          }
          for (const r of results) expect((r as Note).tenant_id).toBe(t);
          expect(await others(t)).toBe(before);
        }
      }),
      { numRuns: 60 },
    );
    // The data set never lost its tenant ids.
    expect(await raw().countDocuments({ tenant_id: { $nin: TENANTS } })).toBe(0);
  });

  it('refuses every call with no tenant in context', async () => {
    await expect(repo.list({})).rejects.toBeInstanceOf(MissingTenantContextError);
    await expect(repo.count({})).rejects.toBeInstanceOf(MissingTenantContextError);
    await expect(repo.add({ title: 'x', owner: 'u1', n: 0, tags: [] })).rejects.toBeInstanceOf(MissingTenantContextError);
    await expect(TenantContext.run({}, () => repo.removeMany({}))).rejects.toBeInstanceOf(MissingTenantContextError);
  });

  it('still refuses a bare {_id} query that does not come from the repository', async () => {
    const id = (await raw().findOne({}))?._id ?? new Types.ObjectId();
    await expect(model.findOne({ _id: id }).exec()).rejects.toBeInstanceOf(TenantScopeViolationError);
    await expect(model.updateOne({ _id: id }, { $set: { title: 'x' } }).exec()).rejects.toBeInstanceOf(TenantScopeViolationError);
    await expect(model.findOneAndDelete({ _id: id }).exec()).rejects.toBeInstanceOf(TenantScopeViolationError);
  });

  it('routes a tenant moved to a dedicated database there, with no change to the repository', async () => {
    const dedicatedDb = `${conn.db!.databaseName}_big`;
    const big = asTenantId('tenantBig');
    const routed = new NoteRepository(model, new TenantConnectionResolver(`tenantBig=${dedicatedDb}`));
    await TenantContext.run({ tenantId: big }, () => routed.add({ title: 'alpha', owner: 'u1', n: 0, tags: [] }));
    expect(await conn.useDb(dedicatedDb).collection('notes').countDocuments({ tenant_id: big })).toBe(1);
    expect(await raw().countDocuments({ tenant_id: big })).toBe(0);
    expect(await TenantContext.run({ tenantId: big }, () => routed.count({}))).toBe(1);
    // Other tenants still use the shared database through the same repository.
    expect(await TenantContext.run({ tenantId: TENANTS[0] }, () => routed.count({}))).toBe(await raw().countDocuments({ tenant_id: TENANTS[0] }));
    await conn.useDb(dedicatedDb).dropDatabase();
  });

  it('new ObjectIds are never shared between tenants: foreign ids stay invisible after writes', async () => {
    const id = new Types.ObjectId();
    await raw().insertOne({ _id: id, tenant_id: TENANTS[1], title: 'alpha', owner: 'u1', n: 0, tags: [] });
    await TenantContext.run({ tenantId: TENANTS[0] }, async () => {
      expect(await repo.byId(id)).toBeNull();
      await repo.upsert({ _id: id }, { $set: { title: 'beta' } }).catch(() => undefined);
    });
    expect(await raw().findOne({ _id: id })).toMatchObject({ tenant_id: TENANTS[1], title: 'alpha' });
  });
});
