import { Types } from 'mongoose';
import type { AnyBulkWriteOperation, FilterQuery, Model, PipelineStage, ProjectionType, UpdateQuery } from 'mongoose';
import { TenantConnectionResolver } from './tenant-connection.resolver';
import { TenantContext } from './tenant-context';
import { crossCollectionStage, updateTouchesTenant } from './tenant-guard.plugin';
import { bareIdOf, IdOwnerCache, idOnlyQueries, idReadOf, usesIdOnlyLookups } from './id-lookups';
import { TenantId } from './tenant-id';

export class CrossTenantWriteError extends Error {
  constructor(detail: string) {
    super(`Refused cross-tenant operation: ${detail}`);
    this.name = 'CrossTenantWriteError';
  }
}

export type WithId<T> = T & { _id: Types.ObjectId };

export interface FindOptions<T> {
  sort?: Record<string, 1 | -1>;
  limit?: number;
  projection?: ProjectionType<T>;
}

const NO_RESOLVER = new TenantConnectionResolver(undefined);

const NOT_MATCHED = { acknowledged: true, matchedCount: 0, modifiedCount: 0, upsertedCount: 0, upsertedId: null } as const;
const NOT_DELETED = { acknowledged: true, deletedCount: 0 } as const;

/** A projection must still bring back tenant_id and the fields the repository checks itself. */
function withChecked<T>(projection: ProjectionType<T> | undefined, fields: string[]): ProjectionType<T> | undefined {
  if (!projection || typeof projection !== 'object') return projection;
  const p = { ...(projection as Record<string, unknown>) };
  // {_id: 1} alone is inclusive too (only the id comes back); {x: 0} and {_id: 0} are exclusive.
  const inclusive = Object.values(p).some((v) => v === 1 || v === true);
  for (const f of ['tenant_id', ...fields]) {
    if (inclusive) p[f] = 1;
    else delete p[f];
  }
  return p as ProjectionType<T>;
}

/**
 * The only door to a tenant-owned collection. Every call takes its tenant from TenantContext and pins
 * the filter, document, update and pipeline to it; with no tenant in context it throws. The model is
 * private: subclasses use the scoped helpers below and have no way to issue an unscoped query.
 * (The Mongoose tenantGuardPlugin is the second lock, for code that does not come through here.)
 */
export abstract class TenantRepository<T extends { tenant_id: string }> {
  readonly #model: Model<T>;
  readonly #resolver: TenantConnectionResolver;
  readonly #owners = new IdOwnerCache();

  protected constructor(model: Model<T>, resolver?: TenantConnectionResolver) {
    this.#model = model;
    this.#resolver = resolver ?? NO_RESOLVER;
  }

  protected tenant(op: string): TenantId {
    return TenantContext.requireTenantId(`${this.#model.modelName}.${op}`);
  }

  private model(tenantId: TenantId): Model<T> {
    return this.#resolver.modelFor(this.#model, tenantId);
  }

  private scope(filter: FilterQuery<T> | undefined, tenantId: TenantId): FilterQuery<T> {
    const f = { ...(filter ?? {}) } as Record<string, unknown>;
    if ('$where' in f) throw new CrossTenantWriteError('$where is not allowed');
    if ('tenant_id' in f && f.tenant_id !== tenantId) throw new CrossTenantWriteError('filter names another tenant');
    f.tenant_id = tenantId;
    return f as FilterQuery<T>;
  }

  private checkUpdate(update: UpdateQuery<T>): UpdateQuery<T> {
    if (Array.isArray(update)) throw new CrossTenantWriteError('pipeline updates are not allowed');
    // No tenant passed: even a $setOnInsert of the right tenant is refused (scope() already pins it).
    if (updateTouchesTenant(update)) throw new CrossTenantWriteError('update changes tenant_id');
    return update;
  }

  // ------------------------------------------------------------------ bare-id access (see id-lookups.ts)

  private idOnly(t: TenantId): boolean {
    return usesIdOnlyLookups(this.model(t).db);
  }

  /** The id to look up by itself, when this server needs it and the filter names nothing else. */
  private fastId(t: TenantId, filter: FilterQuery<T> | undefined): Types.ObjectId | string | undefined {
    const f = filter as Record<string, unknown> | undefined;
    if (f && 'tenant_id' in f && f.tenant_id !== t) return undefined; // scope() refuses it as usual
    return this.idOnly(t) ? bareIdOf(f, t) : undefined;
  }

  /** For reads: the id to fetch by itself and the plain equalities to check on the fetched document. */
  private fastRead(t: TenantId, filter: FilterQuery<T> | undefined) {
    const f = filter as Record<string, unknown> | undefined;
    if (f && 'tenant_id' in f && f.tenant_id !== t) return undefined; // scope() refuses it as usual
    if (!this.idOnly(t)) return undefined;
    const read = idReadOf(f, t);
    return read && { ...read, fields: Object.keys(f!).filter((k) => k !== '_id' && k !== 'tenant_id') };
  }

  /** As fastId, for writes: only ObjectIds (never reused, so ownership cannot change), never upserts. */
  private fastWriteId(t: TenantId, filter: FilterQuery<T> | undefined, upsert?: boolean): Types.ObjectId | undefined {
    if (upsert) return undefined;
    const id = this.fastId(t, filter);
    if (id instanceof Types.ObjectId) return id;
    if (typeof id === 'string' && this.#model.schema.path('_id')?.instance === 'ObjectId' && Types.ObjectId.isValid(id) && /^[0-9a-f]{24}$/i.test(id)) {
      return new Types.ObjectId(id);
    }
    return undefined;
  }

  private byIdQuery<Q extends object>(q: Q): Q {
    idOnlyQueries.add(q);
    return q;
  }

  /** One document by its bare id; another tenant's document (or one failing `check`) is reported as missing. */
  private async readById(
    t: TenantId,
    id: Types.ObjectId | string,
    projection?: ProjectionType<T>,
    check?: { matches: (doc: Record<string, unknown>) => boolean; fields: string[] },
  ): Promise<WithId<T> | null> {
    const q = this.byIdQuery(this.model(t).findOne({ _id: id } as FilterQuery<T>, withChecked(projection, check?.fields ?? [])).lean());
    const doc = (await q.exec()) as WithId<T> | null;
    if (!doc || doc.tenant_id !== t) return null;
    if (doc._id instanceof Types.ObjectId) this.#owners.set(this.ownerKey(t, doc._id), t);
    if (check && !check.matches(doc as unknown as Record<string, unknown>)) return null;
    return doc;
  }

  private ownerKey(t: TenantId, id: Types.ObjectId): string {
    return `${this.model(t).db.name}\u0000${id.toHexString()}`;
  }

  /** Whether the tenant owns the document: remembered once seen, else one index-served read. */
  private async owns(t: TenantId, id: Types.ObjectId): Promise<boolean> {
    const known = this.#owners.get(this.ownerKey(t, id));
    if (known !== undefined) return known === t;
    return (await this.readById(t, id, { _id: 1 } as ProjectionType<T>)) !== null;
  }

  protected static isObjectId(id: unknown): id is string | Types.ObjectId {
    return id instanceof Types.ObjectId || (typeof id === 'string' && /^[0-9a-f]{24}$/i.test(id));
  }

  protected async find(filter: FilterQuery<T>, opts: FindOptions<T> = {}): Promise<WithId<T>[]> {
    const t = this.tenant('find');
    const byId = this.fastRead(t, filter);
    if (byId) {
      if (opts.limit === 0) return [];
      const doc = await this.readById(t, byId.id, opts.projection, byId);
      return doc ? [doc] : [];
    }
    let q = this.model(t).find(this.scope(filter, t), opts.projection ?? undefined);
    if (opts.sort) q = q.sort(opts.sort);
    if (opts.limit !== undefined) q = q.limit(opts.limit);
    return (await q.lean().exec()) as unknown as WithId<T>[];
  }

  protected async findOne(filter: FilterQuery<T>, projection?: ProjectionType<T>): Promise<WithId<T> | null> {
    const t = this.tenant('findOne');
    const byId = this.fastRead(t, filter);
    if (byId) return this.readById(t, byId.id, projection, byId);
    return (await this.model(t).findOne(this.scope(filter, t), projection).lean().exec()) as WithId<T> | null;
  }

  /** A malformed id is simply "not found", exactly like an id of another tenant. */
  protected async findById(id: unknown, projection?: ProjectionType<T>): Promise<WithId<T> | null> {
    if (!TenantRepository.isObjectId(id)) return null;
    return this.findOne({ _id: new Types.ObjectId(String(id)) } as FilterQuery<T>, projection);
  }

  /** Several documents by id, in no particular order; ids of other tenants are simply absent. */
  protected async findByIds(ids: unknown[], projection?: ProjectionType<T>): Promise<WithId<T>[]> {
    const t = this.tenant('findByIds');
    if (!ids.length) return [];
    if (this.idOnly(t)) {
      // One index-served lookup per id beats one scan of the whole collection.
      const docs: Array<WithId<T> | null> = await Promise.all(ids.map((id) => this.readById(t, id as Types.ObjectId | string, projection)));
      return docs.filter((d) => d !== null) as WithId<T>[];
    }
    return this.find({ _id: { $in: ids } } as FilterQuery<T>, { projection });
  }

  protected async exists(filter: FilterQuery<T>): Promise<boolean> {
    const t = this.tenant('exists');
    const byId = this.fastRead(t, filter);
    if (byId) return (await this.readById(t, byId.id, { _id: 1 } as ProjectionType<T>, byId)) !== null;
    return (await this.model(t).exists(this.scope(filter, t))) !== null;
  }

  protected async insertOne(doc: Omit<T, 'tenant_id'> & Partial<Pick<T, 'tenant_id'>>): Promise<WithId<T>> {
    const t = this.tenant('insertOne');
    const created = await this.model(t).create(this.scopedDoc(doc, t));
    return created.toObject() as WithId<T>;
  }

  protected async insertMany(docs: Array<Omit<T, 'tenant_id'>>): Promise<WithId<T>[]> {
    const t = this.tenant('insertMany');
    const res = await this.model(t).insertMany(docs.map((d) => this.scopedDoc(d, t)), { lean: true });
    return res as unknown as WithId<T>[];
  }

  /**
   * insertMany straight to the driver (ordered): no Mongoose hooks, casting or result documents, for a
   * hot path whose repository builds every field already as it is stored (lean insertMany casts nothing
   * either; this skips its middleware and bookkeeping). Scoped like insertMany; a failure is the
   * driver's bulk write error (`writeErrors` with each one's `index`), as lean insertMany throws it.
   */
  protected async insertManyUncast(docs: Array<Omit<T, 'tenant_id'>>): Promise<void> {
    const t = this.tenant('insertMany');
    await this.model(t).collection.insertMany(docs.map((d) => this.scopedDoc(d, t)) as never[], { ordered: true });
  }

  /** A document to insert for tenant `t`: its tenant_id set, or refused when it names another tenant. */
  private scopedDoc<D extends object>(doc: D, t: string): D & { tenant_id: string } {
    const dt = (doc as { tenant_id?: string }).tenant_id;
    if (dt !== undefined && dt !== t) throw new CrossTenantWriteError('document names another tenant');
    return { ...doc, tenant_id: t };
  }

  protected async updateOne(filter: FilterQuery<T>, update: UpdateQuery<T>, opts: { upsert?: boolean } = {}) {
    const t = this.tenant('updateOne');
    const id = this.fastWriteId(t, filter, opts.upsert);
    if (id !== undefined) {
      const checked = this.checkUpdate(update);
      if (!(await this.owns(t, id))) return NOT_MATCHED;
      return this.byIdQuery(this.model(t).updateOne({ _id: id } as FilterQuery<T>, checked)).exec();
    }
    return this.model(t).updateOne(this.scope(filter, t), this.checkUpdate(update), opts).exec();
  }

  protected async updateMany(filter: FilterQuery<T>, update: UpdateQuery<T>) {
    const t = this.tenant('updateMany');
    return this.model(t).updateMany(this.scope(filter, t), this.checkUpdate(update)).exec();
  }

  protected async findOneAndUpdate(
    filter: FilterQuery<T>,
    update: UpdateQuery<T>,
    opts: { upsert?: boolean; new?: boolean; projection?: ProjectionType<T>; sort?: Record<string, 1 | -1> } = {},
  ): Promise<WithId<T> | null> {
    const t = this.tenant('findOneAndUpdate');
    const id = this.fastWriteId(t, filter, opts.upsert);
    if (id !== undefined) {
      const checked = this.checkUpdate(update);
      if (!(await this.owns(t, id))) return null;
      const { sort: _sort, ...rest } = opts;
      return (await this.byIdQuery(this.model(t).findOneAndUpdate({ _id: id } as FilterQuery<T>, checked, { new: true, ...rest }))
        .lean()
        .exec()) as WithId<T> | null;
    }
    return (await this.model(t)
      .findOneAndUpdate(this.scope(filter, t), this.checkUpdate(update), { new: true, ...opts })
      .lean()
      .exec()) as WithId<T> | null;
  }

  protected async findOneAndDelete(filter: FilterQuery<T>): Promise<WithId<T> | null> {
    const t = this.tenant('findOneAndDelete');
    const id = this.fastWriteId(t, filter);
    if (id !== undefined) {
      if (!(await this.owns(t, id))) return null;
      const doc = (await this.byIdQuery(this.model(t).findOneAndDelete({ _id: id } as FilterQuery<T>)).lean().exec()) as WithId<T> | null;
      this.#owners.delete(this.ownerKey(t, id));
      return doc;
    }
    return (await this.model(t).findOneAndDelete(this.scope(filter, t)).lean().exec()) as WithId<T> | null;
  }

  protected async deleteOne(filter: FilterQuery<T>) {
    const t = this.tenant('deleteOne');
    const id = this.fastWriteId(t, filter);
    if (id !== undefined) {
      if (!(await this.owns(t, id))) return NOT_DELETED;
      const res = await this.byIdQuery(this.model(t).deleteOne({ _id: id } as FilterQuery<T>)).exec();
      this.#owners.delete(this.ownerKey(t, id));
      return res;
    }
    return this.model(t).deleteOne(this.scope(filter, t)).exec();
  }

  protected async deleteMany(filter: FilterQuery<T>) {
    const t = this.tenant('deleteMany');
    return this.model(t).deleteMany(this.scope(filter, t)).exec();
  }

  protected async countDocuments(filter: FilterQuery<T> = {}): Promise<number> {
    const t = this.tenant('countDocuments');
    return this.model(t).countDocuments(this.scope(filter, t)).exec();
  }

  protected async distinct<V = unknown>(field: string, filter: FilterQuery<T> = {}): Promise<V[]> {
    const t = this.tenant('distinct');
    return (await this.model(t).distinct(field, this.scope(filter, t)).exec()) as V[];
  }

  /** The pipeline always starts with a $match on the tenant, so later stages only see its documents. */
  protected async aggregate<R = unknown>(pipeline: PipelineStage[]): Promise<R[]> {
    const t = this.tenant('aggregate');
    const bad = crossCollectionStage(pipeline);
    if (bad) throw new CrossTenantWriteError(`${bad} is not allowed in tenant aggregates`);
    // Same rule as scope(): naming another tenant is refused, not silently answered with nothing.
    for (const stage of pipeline) {
      const m = (stage as { $match?: Record<string, unknown> }).$match;
      if (m && 'tenant_id' in m && m.tenant_id !== t) throw new CrossTenantWriteError('$match names another tenant');
    }
    return this.model(t).aggregate<R>([{ $match: { tenant_id: t } }, ...pipeline]).exec();
  }

  /**
   * `uncast`: the scoped operations go straight to the driver, without Mongoose's casting of every
   * filter and update against the schema (which builds a Document per subdocument value: most of the
   * CPU of a small bulk write). Only for updates whose repository writes values already of their stored
   * types and paths the schema has (nothing for casting or strict mode to change); the result is the
   * driver's BulkWriteResult either way.
   */
  protected async bulkWrite(ops: AnyBulkWriteOperation<T>[], opts: { uncast?: boolean } = {}) {
    const t = this.tenant('bulkWrite');
    const scoped = ops.map((op) => {
      const [kind, body] = Object.entries(op)[0] as [string, any];
      if (kind === 'insertOne') {
        if (body.document.tenant_id !== undefined && body.document.tenant_id !== t) throw new CrossTenantWriteError('document names another tenant');
        return { insertOne: { ...body, document: { ...body.document, tenant_id: t } } };
      }
      const next: any = { ...body, filter: this.scope(body.filter, t) };
      if (body.update) next.update = this.checkUpdate(body.update);
      if (body.replacement) next.replacement = { ...body.replacement, tenant_id: t };
      return { [kind]: next };
    });
    if (opts.uncast) return this.model(t).collection.bulkWrite(scoped as any[], { ordered: false });
    return this.model(t).bulkWrite(scoped as any[], { ordered: false });
  }
}
