import mongoose, { type Connection, type IndexDefinition, type IndexOptions, type Model, type Schema, mongo } from 'mongoose';
import { serverBuild, type StoreDialectName } from './mongo-capabilities';

/**
 * Indexes built on MongoDB only: FerretDB v1.24.2 on PostgreSQL never reads them, so there they are
 * pure write cost (docs/architecture.md, the FerretDB table).
 *
 * Why: FerretDB pushes down to PostgreSQL only a filter's top-level equalities, as `_jsonb->'field' @>
 * value` (containment), which the btree it builds on `_jsonb->'field'` cannot serve; ranges, dotted
 * fields and sorts are never pushed down (it sorts in Go, ORDER BY only for `$natural`). So a
 * non-unique btree index is never scanned (bench/src/ferretdb-message-indexes.ts: idx_scan 0 for every
 * one of them over every read the app makes of `messages` and `conversations`, each a Seq Scan), yet
 * every insert writes it and every update writes it again (FerretDB rewrites the whole `_jsonb`, so no
 * update is HOT). Unique indexes stay everywhere: they enforce uniqueness.
 *
 * A schema declares such an index with `mongoOnlyIndex` instead of `schema.index`, one by one, so none
 * goes silently. Every way an index gets built asks here: mongoose autoIndex and `Model.init()`
 * (`ensureIndexes`), `createIndexes` and `syncIndexes` (`setup`, `setup --sync`; `diffIndexes`), all
 * through the statics installed below, and the backup restore (storeBuildsIndex). On MongoDB every index
 * is built exactly as declared.
 */
const mongoOnly = new WeakMap<Schema, Set<string>>();
/** Names of the indexes a schema has on FerretDB only (ferretDbEqualityIndexes): `setup --sync` keeps them. */
const ferretDbOnly = new WeakMap<Schema, Set<string>>();
const withStatics = new WeakSet<Schema>();
/** collection name -> keys (keyOf) of its MongoDB-only indexes, from every schema that declared one. */
const byCollection = new Map<string, Set<string>>();

/** An index's key pattern as a comparable string (field order matters in an index). */
function keyOf(fields: Record<string, unknown>): string {
  return JSON.stringify(fields);
}

/** An entry of `schema.indexes()` / `diffIndexes().toCreate`: `[fields, options]`, or the fields alone. */
type IndexEntry = [IndexDefinition, IndexOptions] | IndexDefinition;
const fieldsOf = (e: IndexEntry): Record<string, unknown> => (Array.isArray(e) ? e[0] : e) as Record<string, unknown>;

/**
 * Which of a schema's index entries the store builds: all of them on MongoDB, on FerretDB all but the
 * ones declared with mongoOnlyIndex.
 */
export function indexesForStore<T extends IndexEntry>(store: StoreDialectName, schema: Schema, entries: T[]): T[] {
  const skip = mongoOnly.get(schema);
  if (store === 'mongodb' || !skip) return entries;
  return entries.filter((e) => !skip.has(keyOf(fieldsOf(e))));
}

/** Whether the store builds an index of `collection` with this key pattern (the backup restore asks). */
export function storeBuildsIndex(store: StoreDialectName, collection: string, fields: Record<string, unknown>): boolean {
  return store === 'mongodb' || !byCollection.get(collection)?.has(keyOf(fields));
}

/** Which store a client talks to: asked once per client (buildInfo names FerretDB's version). */
const storeOfClient = new WeakMap<object, Promise<StoreDialectName>>();
export function storeOf(client: mongo.MongoClient): Promise<StoreDialectName> {
  let found = storeOfClient.get(client);
  if (!found) {
    found = serverBuild(client.db('admin')).then((build) => build.server);
    // A failed ask is not remembered: the next index build asks again.
    found.catch(() => storeOfClient.delete(client));
    storeOfClient.set(client, found);
  }
  return found;
}

/** The store of a model's connection, once it is connected (autoIndex starts before the connection is up). */
async function storeOfConnection(conn: Connection): Promise<StoreDialectName> {
  if (conn.readyState !== mongoose.ConnectionStates.connected) await conn.asPromise();
  return storeOf(conn.getClient() as unknown as mongo.MongoClient);
}

type IndexStatics = Model<unknown> & { schema: Schema };

/** Declares an index that only MongoDB gets (see above): say in a comment at the call why FerretDB has no use for it. */
export function mongoOnlyIndex(schema: Schema, fields: IndexDefinition, options?: IndexOptions): void {
  schema.index(fields, options);
  const key = keyOf(fields as Record<string, unknown>);
  mongoOnly.set(schema, (mongoOnly.get(schema) ?? new Set()).add(key));
  installStatics(schema);
  const collection = schema.get('collection');
  if (collection) byCollection.set(collection, (byCollection.get(collection) ?? new Set()).add(key));
}

/**
 * Indexes the schema has on FerretDB only, by name (ferretDbEqualityIndexes): not declared to mongoose,
 * so `syncIndexes` (`setup --sync`) would drop them as undeclared; its diff leaves them out.
 */
export function ferretDbOnlyIndexNames(schema: Schema, names: string[]): void {
  ferretDbOnly.set(schema, new Set([...(ferretDbOnly.get(schema) ?? []), ...names]));
  installStatics(schema);
}

/**
 * Mongoose builds a model's indexes through `ensureIndexes` (autoIndex, init, createIndexes, and
 * syncIndexes after `diffIndexes`): the schema's statics replace those two on its models, asking the
 * connection's store first.
 */
function installStatics(schema: Schema): void {
  if (withStatics.has(schema)) return;
  withStatics.add(schema);
  const base = mongoose.Model as unknown as {
    ensureIndexes(this: IndexStatics, options?: Record<string, unknown>): Promise<void>;
    diffIndexes(this: IndexStatics, options?: Record<string, unknown>): Promise<{ toDrop: string[]; toCreate: IndexEntry[] }>;
  };
  schema.static('ensureIndexes', async function (this: IndexStatics, options?: { toCreate?: IndexEntry[] } & Record<string, unknown>) {
    const store = await storeOfConnection(this.db);
    const entries = (options?.toCreate ?? this.schema.indexes()) as IndexEntry[];
    return base.ensureIndexes.call(this, { ...options, toCreate: indexesForStore(store, this.schema, entries) });
  });
  schema.static('diffIndexes', async function (this: IndexStatics, options?: Record<string, unknown>) {
    const store = await storeOfConnection(this.db);
    const diff = await base.diffIndexes.call(this, options);
    const keep = ferretDbOnly.get(this.schema);
    return { toDrop: diff.toDrop.filter((name) => !keep?.has(name)), toCreate: indexesForStore(store, this.schema, diff.toCreate) };
  });
}
