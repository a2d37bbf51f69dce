import type { Connection } from 'mongoose';
import { mongo } from 'mongoose';
import { tenantGuardPlugin } from '@chat/tenancy';

/** How one collection's documents of a tenant are found. */
export interface TenantScopeRule {
  collection: string;
  /** The filter selecting the tenant's documents (always pinned to the one tenant). */
  filter(tenantId: string): mongo.Filter<mongo.Document>;
  /** Tenant-owned data (tenantGuardPlugin): lives in the tenant's dedicated database when it has one. */
  tenantOwned: boolean;
}

/**
 * Derives the per-tenant rules from the registered Mongoose models, so a collection added by any
 * feature is covered by export, erase and tenant backups without touching this code:
 * - schemas with tenantGuardPlugin: tenant data, `{ tenant_id }`, possibly in a dedicated database;
 * - other schemas with a `tenant_id` path (api keys, audit, billing...): platform records of the tenant;
 * - `clients`: the tenant record itself, `{ _id }`.
 */
export function tenantScopeFromConnection(conn: Connection): TenantScopeRule[] {
  const rules = new Map<string, TenantScopeRule>();
  for (const model of Object.values(conn.models)) {
    const name = model.collection.collectionName;
    const schema = model.schema;
    const guarded = (schema as unknown as { plugins: Array<{ fn: unknown }> }).plugins.some((p) => p.fn === tenantGuardPlugin);
    if (schema.path('tenant_id')) {
      const prev = rules.get(name);
      rules.set(name, { collection: name, filter: (t) => ({ tenant_id: t }), tenantOwned: guarded || Boolean(prev?.tenantOwned) });
    } else if (name === 'clients') {
      // A tenant id is the hex of the client's ObjectId.
      rules.set(name, { collection: name, filter: (t) => ({ _id: /^[0-9a-f]{24}$/i.test(t) ? new mongo.ObjectId(t) : t }) as mongo.Filter<mongo.Document>, tenantOwned: false });
    }
  }
  return [...rules.values()].sort((a, b) => a.collection.localeCompare(b.collection));
}

/** Collection names of every registered model (what `setup` creates). */
export function modelCollections(conn: Connection): string[] {
  return [...new Set(Object.values(conn.models).map((m) => m.collection.collectionName))].sort();
}
