import { storeBuildsIndex, storeOf } from '@chat/database';
import { AppError } from '@chat/errors';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { mongo } from 'mongoose';
import { dumpWorkspace, isTarball, unpackArchive } from './archive';
import { BsonWriter, CollectionMetadata, decodeExact, metadataFromJson, metadataToJson, readBsonFile } from './bson-files';
import type { ObjectStore } from './object-store';
import type { TenantScopeRule } from './tenant-scope';

export const MANIFEST_FILE = 'chat-platform-backup.json';
export const FORMAT = 'chat-platform-dump';

/** What long operations report to (the CLI shows progress bars; tests pass nothing). */
export interface ProgressSink {
  start(label: string, total: number): { increment(n?: number): void; done(): void };
}
const NO_PROGRESS: ProgressSink = { start: () => ({ increment: () => undefined, done: () => undefined }) };

export interface ManifestCollection {
  name: string;
  count: number;
  bytes: number;
  /** Tenant scope: the filter (canonical Extended JSON) that selected these documents; restore replaces exactly that set. */
  filter?: string;
}

export interface BackupManifest {
  format: typeof FORMAT;
  version: 1;
  created_at: string;
  scope: 'full' | 'tenant';
  tenant_id?: string;
  databases: Array<{ name: string; role: 'main' | 'tenant'; collections: ManifestCollection[] }>;
  /** Tenant exports: the tenant's file objects, under objects/<bucket>/<key>. */
  objects?: { count: number; bytes: number; missing: number };
}

export interface DatabaseLayout {
  client: mongo.MongoClient;
  /** The shared database (MONGODB_DB). */
  mainDb: string;
  /** tenant id -> dedicated database (TENANT_DEDICATED_DATABASES). */
  dedicated: Map<string, string>;
  /** Per-tenant selection rules (from the registered models); needed for tenant scope only. */
  rules: TenantScopeRule[];
  objects?: ObjectStore;
}

export interface RestoreReport {
  scope: 'full' | 'tenant';
  tenant_id?: string;
  collections: Array<{ db: string; name: string; inserted: number; removed: number }>;
  objects: number;
}

export interface EraseReport {
  tenant_id: string;
  collections: Array<{ db: string; name: string; deleted: number }>;
  objects: number;
}

const INSERT_BATCH_DOCS = 1000;
const INSERT_BATCH_BYTES = 8 * 1024 * 1024;
const DELETE_BATCH = 1000;
const FILES = 'files';

function ejson(value: unknown): string {
  return mongo.BSON.EJSON.stringify(value, { relaxed: false });
}

/**
 * Backup, restore, tenant export and tenant erase. Reads and writes raw BSON (never through Mongoose
 * models), so a round trip is byte-exact: ObjectIds, dates, int32/int64/double stay what they were.
 * Works on FerretDB and MongoDB alike (plain find/insert/delete, no transactions).
 */
export class BackupService {
  constructor(private readonly layout: DatabaseLayout) {}

  private db(name: string): mongo.Db {
    return this.layout.client.db(name);
  }

  private tenantDb(tenantId: string): string {
    return this.layout.dedicated.get(tenantId) ?? this.layout.mainDb;
  }

  /** The (database, collection, filter) triples that hold one tenant's data. */
  tenantTargets(tenantId: string): Array<{ db: string; rule: TenantScopeRule }> {
    if (!this.layout.rules.length) throw new Error('No tenant rules: the models were not loaded');
    return this.layout.rules.map((rule) => ({ db: rule.tenantOwned ? this.tenantDb(tenantId) : this.layout.mainDb, rule }));
  }

  private async listCollections(db: string): Promise<Array<{ name: string; options: mongo.Document; uuid?: string }>> {
    const infos = await this.db(db).listCollections({}, { nameOnly: false }).toArray();
    return infos
      .filter((c) => c.type !== 'view' && !c.name.startsWith('system.'))
      .map((c) => {
        const info = (c as { info?: { uuid?: unknown } }).info;
        const uuid = info?.uuid ? String(info.uuid).replace(/-/g, '') : undefined;
        return { name: c.name, options: (c as { options?: mongo.Document }).options ?? {}, uuid };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  private async exists(db: string, collection: string): Promise<boolean> {
    return (await this.db(db).listCollections({ name: collection }, { nameOnly: true }).toArray()).length > 0;
  }

  /**
   * Writes a mongodump-layout dump: `<db>/<collection>.bson` + `.metadata.json`, plus our manifest. A
   * target ending in .tar.gz/.tgz is packed into one archive; anything else is a directory.
   */
  async backup(opts: { target: string; tenantId?: string; includeObjects?: boolean; progress?: ProgressSink }): Promise<BackupManifest> {
    const progress = opts.progress ?? NO_PROGRESS;
    const ws = await dumpWorkspace(opts.target);
    try {
      const manifest: BackupManifest = {
        format: FORMAT,
        version: 1,
        created_at: new Date().toISOString(),
        scope: opts.tenantId ? 'tenant' : 'full',
        ...(opts.tenantId ? { tenant_id: opts.tenantId } : {}),
        databases: [],
      };
      const plan = new Map<string, Array<{ name: string; filter?: mongo.Filter<mongo.Document> }>>();
      if (opts.tenantId) {
        for (const { db, rule } of this.tenantTargets(opts.tenantId)) {
          if (!(await this.exists(db, rule.collection))) continue;
          plan.set(db, [...(plan.get(db) ?? []), { name: rule.collection, filter: rule.filter(opts.tenantId) }]);
        }
      } else {
        for (const db of new Set([this.layout.mainDb, ...this.layout.dedicated.values()])) {
          plan.set(db, (await this.listCollections(db)).map((c) => ({ name: c.name })));
        }
      }
      for (const [db, collections] of plan) {
        await mkdir(join(ws.dir, db), { recursive: true });
        const infos = new Map((await this.listCollections(db)).map((c) => [c.name, c]));
        const entry: BackupManifest['databases'][number] = { name: db, role: db === this.layout.mainDb ? 'main' : 'tenant', collections: [] };
        for (const c of collections) {
          const coll = this.db(db).collection(c.name);
          const total = c.filter ? await coll.countDocuments(c.filter) : await coll.estimatedDocumentCount();
          const task = progress.start(`${db}.${c.name}`, total);
          const writer = new BsonWriter(join(ws.dir, db, `${c.name}.bson`));
          // _id order: deterministic files, and a dump of an unchanged database is identical.
          for await (const raw of coll.find(c.filter ?? {}, { raw: true, sort: { _id: 1 }, batchSize: 1000 })) {
            await writer.write(raw as unknown as Uint8Array);
            task.increment();
          }
          await writer.close();
          const indexes = await coll.listIndexes().toArray().catch(() => []);
          const info = infos.get(c.name);
          const meta: CollectionMetadata = { collectionName: c.name, type: 'collection', options: info?.options ?? {}, indexes, uuid: info?.uuid };
          await writeFile(join(ws.dir, db, `${c.name}.metadata.json`), metadataToJson(meta));
          entry.collections.push({ name: c.name, count: writer.count, bytes: writer.bytes, ...(c.filter ? { filter: ejson(c.filter) } : {}) });
          task.done();
        }
        manifest.databases.push(entry);
      }
      if (opts.tenantId && opts.includeObjects) manifest.objects = await this.exportObjects(opts.tenantId, ws.dir, progress);
      await writeFile(join(ws.dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
      await ws.finish();
      return manifest;
    } catch (err) {
      await ws.abort();
      throw err;
    }
  }

  /** Copies the tenant's file objects (ciphertext) into objects/<bucket>/<key>. */
  private async exportObjects(tenantId: string, dir: string, progress: ProgressSink): Promise<BackupManifest['objects']> {
    const out = { count: 0, bytes: 0, missing: 0 };
    const store = this.layout.objects;
    const db = this.tenantDb(tenantId);
    if (!store || !(await this.exists(db, FILES))) return out;
    const files = this.db(db).collection(FILES);
    const task = progress.start('objects', await files.countDocuments({ tenant_id: tenantId }));
    for await (const f of files.find({ tenant_id: tenantId }, { projection: { storage: 1 } })) {
      const { bucket, key } = (f.storage ?? {}) as { bucket?: string; key?: string };
      task.increment();
      if (!bucket || !key) continue;
      const body = await store.get(bucket, key);
      if (!body) {
        out.missing++;
        continue;
      }
      const path = join(dir, 'objects', bucket, key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, body);
      out.count++;
      out.bytes += body.length;
    }
    task.done();
    return out;
  }

  async readManifest(dir: string): Promise<BackupManifest> {
    const path = join(dir, MANIFEST_FILE);
    if (existsSync(path)) {
      const m = JSON.parse(await readFile(path, 'utf8')) as BackupManifest;
      if (m.format !== FORMAT || m.version !== 1) throw new Error(`Unsupported backup format ${m.format}/${m.version}`);
      return m;
    }
    // A plain mongodump directory: every <db>/<collection>.bson is restored as it is.
    const databases: BackupManifest['databases'] = [];
    for (const d of await readdir(dir, { withFileTypes: true })) {
      if (!d.isDirectory() || d.name === 'objects') continue;
      const names = (await readdir(join(dir, d.name))).filter((f) => f.endsWith('.bson')).map((f) => f.slice(0, -5));
      databases.push({ name: d.name, role: 'main', collections: names.map((name) => ({ name, count: -1, bytes: -1 })) });
    }
    return { format: FORMAT, version: 1, created_at: '', scope: 'full', databases };
  }

  /**
   * Restores a dump. Full scope: each collection is created with its indexes and filled (`drop` empties
   * it first, like mongorestore --drop). Tenant scope: the tenant's documents in each collection are
   * replaced by the archived ones, other tenants are not touched. `targetDb` renames the main database.
   */
  async restore(opts: { source: string; drop?: boolean; targetDb?: string; progress?: ProgressSink }): Promise<RestoreReport> {
    const progress = opts.progress ?? NO_PROGRESS;
    const unpacked = isTarball(opts.source) ? await unpackArchive(opts.source) : null;
    const dir = unpacked?.dir ?? opts.source;
    try {
      // A backup made by this tool names its main database; it goes back into this deployment's own
      // (MONGODB_DB), or --target-db. A plain mongodump directory keeps its databases' names.
      const ours = existsSync(join(dir, MANIFEST_FILE));
      const manifest = await this.readManifest(dir);
      const report: RestoreReport = { scope: manifest.scope, ...(manifest.tenant_id ? { tenant_id: manifest.tenant_id } : {}), collections: [], objects: 0 };
      for (const dbEntry of manifest.databases) {
        const dbName = dbEntry.role === 'main' ? (opts.targetDb ?? (ours ? this.layout.mainDb : dbEntry.name)) : dbEntry.name;
        for (const c of dbEntry.collections) {
          const coll = this.db(dbName).collection(c.name);
          const metaPath = join(dir, dbEntry.name, `${c.name}.metadata.json`);
          const meta = existsSync(metaPath) ? metadataFromJson(await readFile(metaPath, 'utf8'), c.name) : null;
          let removed = 0;
          if (manifest.scope === 'tenant') {
            const filter = mongo.BSON.EJSON.parse(c.filter ?? 'null', { relaxed: false }) as mongo.Filter<mongo.Document> | null;
            if (!filter || !manifest.tenant_id) throw new Error(`Tenant archive without a filter for ${c.name}`);
            removed = (await coll.deleteMany(filter)).deletedCount;
          } else if (opts.drop && (await this.exists(dbName, c.name))) {
            removed = await coll.estimatedDocumentCount();
            await coll.drop();
          }
          if (!(await this.exists(dbName, c.name))) {
            await this.db(dbName).createCollection(c.name, meta?.options ?? {}).catch((e: mongo.MongoServerError) => {
              if (e.codeName !== 'NamespaceExists') throw e;
            });
          }
          if (meta) await this.createIndexes(coll, meta.indexes);
          const task = progress.start(`${dbName}.${c.name}`, c.count >= 0 ? c.count : 0);
          let inserted = 0;
          let batch: mongo.Document[] = [];
          let batchBytes = 0;
          const flush = async () => {
            if (!batch.length) return;
            await coll.insertMany(batch, { ordered: true, bypassDocumentValidation: true }).catch((err: mongo.MongoServerError) => {
              if (err?.code !== 11000) throw err;
              throw AppError.conflict(
                `${dbName}.${c.name} already holds documents of this backup: restore a full backup with --drop (replaces each archived collection), or into another database with --target-db <name>`,
                { db: dbName, collection: c.name },
              );
            });
            inserted += batch.length;
            task.increment(batch.length);
            batch = [];
            batchBytes = 0;
          };
          for await (const raw of readBsonFile(join(dir, dbEntry.name, `${c.name}.bson`))) {
            const doc = decodeExact(raw);
            if (manifest.scope === 'tenant') this.assertTenantDoc(doc, manifest.tenant_id!, c.name);
            batch.push(doc);
            batchBytes += raw.length;
            if (batch.length >= INSERT_BATCH_DOCS || batchBytes >= INSERT_BATCH_BYTES) await flush();
          }
          await flush();
          task.done();
          report.collections.push({ db: dbName, name: c.name, inserted, removed });
        }
      }
      report.objects = await this.importObjects(dir, progress);
      return report;
    } finally {
      await unpacked?.cleanup();
    }
  }

  /** A tenant archive may only put that tenant's documents back: an edited archive cannot write into another tenant. */
  private assertTenantDoc(doc: mongo.Document, tenantId: string, collection: string): void {
    if ('tenant_id' in doc) {
      if (doc.tenant_id !== tenantId) throw new Error(`${collection}: document ${String(doc._id)} belongs to another tenant`);
    } else if (collection === 'clients') {
      if (String(doc._id) !== tenantId) throw new Error(`clients: record ${String(doc._id)} is not tenant ${tenantId}`);
    } else {
      throw new Error(`${collection}: document ${String(doc._id)} has no tenant_id`);
    }
  }

  /**
   * The archived indexes this store builds: on FerretDB none a schema declared MongoDB-only
   * (libs/database mongoOnlyIndex), as autoIndex and `setup` leave them out there.
   */
  private async createIndexes(coll: mongo.Collection, indexes: mongo.Document[]): Promise<void> {
    const store = await storeOf(this.layout.client);
    const specs = indexes
      .filter((ix) => ix.name !== '_id_' && storeBuildsIndex(store, coll.collectionName, ix.key as Record<string, unknown>))
      .map((ix) => {
        const { v: _v, ns: _ns, ...rest } = ix;
        return rest as mongo.IndexDescription;
      });
    if (!specs.length) return;
    try {
      await coll.createIndexes(specs);
    } catch (err) {
      // An index of the same name with other options already exists: keep the live one, say so.
      process.stderr.write(`warning: ${coll.collectionName}: could not create every index: ${(err as Error).message}\n`);
    }
  }

  private async importObjects(dir: string, progress: ProgressSink): Promise<number> {
    const root = join(dir, 'objects');
    const store = this.layout.objects;
    if (!store || !existsSync(root)) return 0;
    const entries = (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    const task = progress.start('objects', entries.length);
    for (const e of entries) {
      const full = join(e.parentPath, e.name);
      const rel = full.slice(root.length + 1).split('/');
      const [bucket, ...key] = rel;
      await store.put(bucket, key.join('/'), await readFile(full));
      task.increment();
    }
    task.done();
    return entries.length;
  }

  /**
   * Right to erasure: removes every document of the tenant from every collection that holds tenant
   * data or tenant platform records, and the tenant's file objects. Bounded batches by _id, so a big
   * tenant never turns into one huge delete.
   */
  async eraseTenant(opts: { tenantId: string; progress?: ProgressSink }): Promise<EraseReport> {
    const progress = opts.progress ?? NO_PROGRESS;
    const report: EraseReport = { tenant_id: opts.tenantId, collections: [], objects: 0 };
    const targets = this.tenantTargets(opts.tenantId);
    // Objects first: once the files documents are gone, nothing says which keys were the tenant's.
    const filesTarget = targets.find((t) => t.rule.collection === FILES);
    if (filesTarget && this.layout.objects && (await this.exists(filesTarget.db, FILES))) {
      const files = this.db(filesTarget.db).collection(FILES);
      const task = progress.start('objects', await files.countDocuments({ tenant_id: opts.tenantId }));
      for await (const f of files.find({ tenant_id: opts.tenantId }, { projection: { storage: 1 } })) {
        const { bucket, key } = (f.storage ?? {}) as { bucket?: string; key?: string };
        if (bucket && key) {
          await this.layout.objects.delete(bucket, key);
          report.objects++;
        }
        task.increment();
      }
      task.done();
    }
    for (const { db, rule } of targets) {
      if (!(await this.exists(db, rule.collection))) continue;
      const coll = this.db(db).collection(rule.collection);
      const filter = rule.filter(opts.tenantId);
      const task = progress.start(`${db}.${rule.collection}`, await coll.countDocuments(filter));
      let deleted = 0;
      for (;;) {
        const ids = (await coll.find(filter, { projection: { _id: 1 }, limit: DELETE_BATCH }).toArray()).map((d) => d._id);
        if (!ids.length) break;
        const n = (await coll.deleteMany({ $and: [filter, { _id: { $in: ids } }] })).deletedCount;
        deleted += n;
        task.increment(n);
        if (n === 0) break; // nothing removable left (should not happen): never loop forever
      }
      task.done();
      report.collections.push({ db, name: rule.collection, deleted });
    }
    return report;
  }
}
