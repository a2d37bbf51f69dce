import type { Connection, Model } from 'mongoose';
import { TenantId } from './tenant-id';

/**
 * Decides which database holds a tenant's data. Default: the shared database. A large tenant can be
 * moved to a dedicated database by configuration (TENANT_DEDICATED_DATABASES=tenant=db,...) with no
 * change to any app: repositories ask this resolver for the model on every call.
 */
export class TenantConnectionResolver {
  private readonly dedicated: Map<string, string>;
  private readonly cache = new Map<string, Model<any>>();

  constructor(mapping: string | undefined) {
    this.dedicated = new Map(
      (mapping ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
        .map((p) => p.split('=').map((s) => s.trim()) as [string, string]),
    );
  }

  databaseFor(tenantId: TenantId): string | undefined {
    return this.dedicated.get(tenantId);
  }

  modelFor<T>(base: Model<T>, tenantId: TenantId): Model<T> {
    const db = this.dedicated.get(tenantId);
    if (!db) return base;
    const key = `${db}/${base.modelName}`;
    let m = this.cache.get(key);
    if (!m) {
      const conn: Connection = base.db.useDb(db, { useCache: true });
      m = conn.models[base.modelName] ?? conn.model(base.modelName, base.schema, base.collection.collectionName);
      this.cache.set(key, m);
    }
    return m as Model<T>;
  }
}
