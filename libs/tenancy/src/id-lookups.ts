import { Types } from 'mongoose';
import type { Connection } from 'mongoose';

/**
 * By-id access for servers that only index-serve a bare `{_id}` filter.
 *
 * Why: FerretDB v1 on SQLite (dev, tests, the embedded default) pushes exactly one filter shape down
 * to its storage: `{_id: <string|ObjectId>}` with no other key (internal/backends/sqlite/collection.go,
 * v1.24.2). `{tenant_id, _id}` is a full scan of the collection, decoded document by document, so
 * every by-id read and write of a tenant repository grew with the collection. On such servers the
 * repository sends the bare `{_id}` and checks the tenant itself: reads drop another tenant's document
 * as if it did not exist; writes first prove the document belongs to the tenant (tenant_id can never
 * change, and _id is unique in the collection). MongoDB serves `{tenant_id, _id}` from an index (and
 * a sharded cluster needs the tenant in the filter to target one shard), so there nothing changes.
 */
const idOnlyClients = new WeakSet<object>();

/** Queries the repository built from a bare `{_id}` and checks itself; the guard plugin lets only these through. */
export const idOnlyQueries = new WeakSet<object>();

/** Called once the server is known (DatabaseInfo): true switches the connection's repositories to bare-id lookups. */
export function setIdOnlyLookups(conn: Connection, on: boolean): void {
  const client = conn.getClient();
  if (on) idOnlyClients.add(client);
  else idOnlyClients.delete(client);
}

export function usesIdOnlyLookups(conn: Connection): boolean {
  return idOnlyClients.has(conn.getClient());
}

/** The id of a filter whose only key (beside the caller's own tenant) is an `_id` equality, else undefined. */
export function bareIdOf(filter: Record<string, unknown> | undefined, tenantId: string): Types.ObjectId | string | undefined {
  if (!filter) return undefined;
  const keys = Object.keys(filter);
  if (!keys.includes('_id')) return undefined;
  if (keys.length > 2 || (keys.length === 2 && filter.tenant_id !== tenantId)) return undefined;
  return idValue(filter._id);
}

function idValue(id: unknown): Types.ObjectId | string | undefined {
  if (id instanceof Types.ObjectId) return id;
  // A 24-hex string is cast to an ObjectId by the schema; other strings are ids of string-keyed collections.
  if (typeof id === 'string' && id.length > 0) return id;
  return undefined;
}

type Scalar = string | number | boolean | null | Types.ObjectId;
const isScalar = (v: unknown): v is Scalar =>
  v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v instanceof Types.ObjectId;

/**
 * For reads: a filter made of an `_id` equality plus plain top-level equalities on scalars
 * (`{_id, conversation_id: 'c', deleted_at: null}`) is split into the id to fetch and a check the
 * repository applies to the fetched document. Anything else (operators, dotted paths, arrays,
 * objects) returns undefined and goes to the server unchanged.
 */
export function idReadOf(
  filter: Record<string, unknown> | undefined,
  tenantId: string,
): { id: Types.ObjectId | string; matches: (doc: Record<string, unknown>) => boolean } | undefined {
  if (!filter || !('_id' in filter)) return undefined;
  const id = idValue(filter._id);
  if (id === undefined) return undefined;
  const checks: Array<[string, Scalar]> = [];
  for (const [k, v] of Object.entries(filter)) {
    if (k === '_id' || (k === 'tenant_id' && v === tenantId)) continue;
    if (k.startsWith('$') || k.includes('.') || k === 'tenant_id' || !isScalar(v)) return undefined;
    checks.push([k, v]);
  }
  const matches = (doc: Record<string, unknown>) =>
    checks.every(([k, want]) => {
      const got = doc[k];
      // As on the server: null matches a missing field; a field holding an array matches if any element does.
      if (want === null) return got === null || got === undefined;
      if (Array.isArray(got)) return got.some((g) => sameScalar(g, want));
      return sameScalar(got, want);
    });
  return { id, matches };
}

function sameScalar(got: unknown, want: Scalar): boolean {
  if (want instanceof Types.ObjectId) return got instanceof Types.ObjectId && got.equals(want);
  return got === want;
}

/**
 * Which tenant owns an ObjectId, once seen. Only ObjectIds are remembered: they are never reused, and
 * derived ones (message ids) hash the tenant in, so an id cannot change hands. Bounded: the oldest
 * entries go first.
 */
export class IdOwnerCache {
  private readonly owners = new Map<string, string>();

  constructor(private readonly max = 100_000) {}

  get(key: string): string | undefined {
    return this.owners.get(key);
  }

  set(key: string, tenantId: string): void {
    if (this.owners.size >= this.max) {
      const oldest = this.owners.keys().next();
      if (!oldest.done) this.owners.delete(oldest.value);
    }
    this.owners.set(key, tenantId);
  }

  delete(key: string): void {
    this.owners.delete(key);
  }
}
