import type { ProgressSink } from '@chat/backup';
import type { Connection, Model } from 'mongoose';
import { tenantGuardPlugin } from '@chat/tenancy';

export interface SetupReport {
  databases: Array<{ db: string; collections: Array<{ name: string; indexes: string[] }> }>;
}

function isTenantOwned(model: Model<unknown>): boolean {
  return (model.schema as unknown as { plugins: Array<{ fn: unknown }> }).plugins.some((p) => p.fn === tenantGuardPlugin);
}

async function ensure(conn: Connection, models: Model<unknown>[], sync: boolean, progress: ProgressSink, label: string) {
  const byCollection = new Map<string, Model<unknown>[]>();
  for (const m of models) byCollection.set(m.collection.collectionName, [...(byCollection.get(m.collection.collectionName) ?? []), m]);
  const task = progress.start(label, byCollection.size);
  const out: SetupReport['databases'][number]['collections'] = [];
  for (const [name, group] of [...byCollection].sort((a, b) => a[0].localeCompare(b[0]))) {
    await conn.db!.createCollection(name).catch((e: { codeName?: string; code?: number }) => {
      if (e.codeName !== 'NamespaceExists' && e.code !== 48) throw e;
    });
    // Several models may share a collection (e.g. a job's narrow view of messages): each adds its indexes.
    for (const model of group) {
      if (sync && group.length === 1) await model.syncIndexes();
      else await model.createIndexes();
    }
    const indexes = (await conn.db!.collection(name).listIndexes().toArray()).map((i) => String(i.name));
    out.push({ name, indexes });
    task.increment();
  }
  task.done();
  return out;
}

/**
 * Creates every collection and index of every registered Mongoose model (idempotent: existing ones are
 * left as they are). Tenants with a dedicated database get their tenant-owned collections there too.
 * `--sync` also drops indexes no schema declares (only for collections owned by a single model).
 */
export async function runSetup(conn: Connection, dedicatedDbs: string[], progress: ProgressSink, opts: { sync?: boolean }): Promise<SetupReport> {
  const models = Object.values(conn.models) as Model<unknown>[];
  const report: SetupReport = { databases: [{ db: conn.db!.databaseName, collections: await ensure(conn, models, Boolean(opts.sync), progress, conn.db!.databaseName) }] };
  for (const db of new Set(dedicatedDbs)) {
    const dconn = conn.useDb(db, { useCache: true });
    const tenantModels = models
      .filter(isTenantOwned)
      .map((m) => dconn.models[m.modelName] ?? dconn.model(m.modelName, m.schema, m.collection.collectionName)) as Model<unknown>[];
    report.databases.push({ db, collections: await ensure(dconn, tenantModels, Boolean(opts.sync), progress, db) });
  }
  return report;
}
