import type { PipelineStage, Schema } from 'mongoose';
import { idOnlyQueries } from './id-lookups';

/** Thrown by the Mongoose-level guard when a query on a tenant collection has no tenant_id. */
export class TenantScopeViolationError extends Error {
  constructor(model: string, operation: string) {
    super(`Query "${operation}" on tenant collection "${model}" has no tenant_id in its filter`);
    this.name = 'TenantScopeViolationError';
  }
}

const QUERY_OPS = [
  'find',
  'findOne',
  'countDocuments',
  'estimatedDocumentCount',
  'distinct',
  'updateOne',
  'updateMany',
  'replaceOne',
  'deleteOne',
  'deleteMany',
  'findOneAndUpdate',
  'findOneAndDelete',
  'findOneAndReplace',
] as const;

function hasTenant(filter: unknown): boolean {
  if (!filter || typeof filter !== 'object') return false;
  const t = (filter as Record<string, unknown>).tenant_id;
  // Only a plain equality on a string counts: {$exists}, {$ne}, {$in: [...]} could span tenants.
  return typeof t === 'string' && t.length > 0;
}

const touchesTenantPath = (path: string) => path === 'tenant_id' || path.startsWith('tenant_id.');

/**
 * True when an update could move a document to another tenant (or strip its tenant): any operator
 * naming tenant_id (or a sub-path), a $rename onto it, a pipeline update. `$setOnInsert` may only
 * repeat the filter's own tenant (that is what an upsert inserts anyway).
 */
export function updateTouchesTenant(update: unknown, filterTenant?: unknown): boolean {
  if (!update || typeof update !== 'object') return false;
  if (Array.isArray(update)) return true; // pipeline updates are not allowed on tenant collections
  for (const [k, v] of Object.entries(update as Record<string, unknown>)) {
    if (!k.startsWith('$')) {
      if (touchesTenantPath(k)) return true;
      continue;
    }
    if (!v || typeof v !== 'object') continue;
    for (const [path, value] of Object.entries(v as Record<string, unknown>)) {
      if (k === '$setOnInsert' && path === 'tenant_id' && value === filterTenant) continue;
      if (touchesTenantPath(path)) return true;
      if (k === '$rename' && typeof value === 'string' && touchesTenantPath(value)) return true;
    }
  }
  return false;
}

/** A replacement document must carry exactly the filter's tenant. */
function replacementKeepsTenant(replacement: unknown, filterTenant: unknown): boolean {
  return !!replacement && typeof replacement === 'object' && (replacement as Record<string, unknown>).tenant_id === filterTenant;
}

const FORBIDDEN_STAGES = new Set(['$lookup', '$graphLookup', '$unionWith', '$out', '$merge']);

/** The first stage (also inside $facet sub-pipelines) that reads or writes another collection. */
export function crossCollectionStage(pipeline: readonly object[]): string | undefined {
  for (const stage of pipeline) {
    const [key, body] = Object.entries(stage)[0] ?? [];
    if (!key) continue;
    if (FORBIDDEN_STAGES.has(key)) return key;
    if (key === '$facet' && body && typeof body === 'object') {
      for (const sub of Object.values(body as Record<string, unknown>)) {
        const found = Array.isArray(sub) ? crossCollectionStage(sub as object[]) : undefined;
        if (found) return found;
      }
    }
  }
  return undefined;
}

/**
 * Mongoose plugin for every tenant-owned schema: refuses any query, write or aggregate that is not
 * pinned to one tenant, even from code that bypasses the repositories. Defence in depth.
 */
export function tenantGuardPlugin(schema: Schema): void {
  for (const op of QUERY_OPS) {
    schema.pre(op, function (this: any) {
      const name = this.model?.modelName ?? 'unknown';
      if (op === 'estimatedDocumentCount') throw new TenantScopeViolationError(name, op);
      const filter = this.getFilter();
      // The one exception: a bare {_id} query built by TenantRepository, which checks the tenant itself.
      const repositoryById = idOnlyQueries.has(this) && Object.keys(filter ?? {}).join() === '_id';
      if (!hasTenant(filter) && !repositoryById) throw new TenantScopeViolationError(name, op);
      if (typeof this.getUpdate !== 'function') return;
      const update = this.getUpdate();
      if (op === 'replaceOne' || op === 'findOneAndReplace') {
        if (!replacementKeepsTenant(update, filter.tenant_id)) throw new TenantScopeViolationError(name, `${op} without the same tenant_id`);
      } else if (updateTouchesTenant(update, filter.tenant_id)) {
        throw new TenantScopeViolationError(name, `${op} changing tenant_id`);
      }
    });
  }
  schema.pre('aggregate', function (this: any) {
    const pipeline = this.pipeline() as PipelineStage[];
    const first = pipeline[0] as { $match?: unknown } | undefined;
    const name = this._model?.modelName ?? 'unknown';
    if (!first || !hasTenant(first.$match)) throw new TenantScopeViolationError(name, 'aggregate');
    // These read or write other collections, where the leading $match does not reach.
    const bad = crossCollectionStage(pipeline);
    if (bad) throw new TenantScopeViolationError(name, `aggregate with ${bad}`);
  });
  schema.pre('save', function (this: any) {
    const name = (this.constructor as { modelName?: string }).modelName ?? 'unknown';
    if (typeof this.tenant_id !== 'string' || !this.tenant_id) throw new TenantScopeViolationError(name, 'save');
    // A loaded document may not be moved to another tenant.
    if (!this.isNew && this.isModified('tenant_id')) throw new TenantScopeViolationError(name, 'save changing tenant_id');
  });
  schema.pre('insertMany', function (this: any, next: (err?: Error) => void, docs: unknown) {
    const list = Array.isArray(docs) ? docs : [docs];
    for (const d of list) {
      if (!hasTenant(d)) return next(new TenantScopeViolationError(this.modelName ?? 'unknown', 'insertMany'));
    }
    next();
  });
  schema.pre('bulkWrite', function (this: any, next: (err?: Error) => void, ops: unknown[]) {
    for (const op of ops as Array<Record<string, any>>) {
      const [kind, body] = Object.entries(op)[0] ?? [];
      const ok =
        kind === 'insertOne'
          ? hasTenant(body?.document)
          : hasTenant(body?.filter) &&
            !updateTouchesTenant(body?.update, body?.filter?.tenant_id) &&
            (kind !== 'replaceOne' || replacementKeepsTenant(body?.replacement, body?.filter?.tenant_id));
      if (!ok) return next(new TenantScopeViolationError(this.modelName ?? 'unknown', `bulkWrite.${kind}`));
    }
    next();
  });
}
