import type { mongo } from 'mongoose';
import { serverBuild } from '@chat/database';
import type { OpsContext } from './ops-context';
import type { ProgressSink } from '../backup.service';

export interface CollectionStats {
  name: string;
  documents: number;
  data_bytes: number;
  storage_bytes: number;
  index_bytes: number;
  indexes: Record<string, number>;
}

export interface StatsReport {
  server: string;
  database: { name: string; collections: number; documents: number; data_bytes: number; storage_bytes: number; index_bytes: number };
  collections: CollectionStats[];
  /** Per tenant: documents per collection and an estimate of bytes (documents x the collection's average size). */
  tenants: Array<{ tenant_id: string; documents: number; est_bytes: number; by_collection: Record<string, number> }>;
}

async function collStats(db: mongo.Db, name: string): Promise<CollectionStats> {
  let s: mongo.Document;
  try {
    s = await db.command({ collStats: name });
  } catch {
    // MongoDB may drop the collStats command one day; the $collStats stage answers on both servers.
    const [row] = await db.collection(name).aggregate([{ $collStats: { storageStats: {} } }]).toArray();
    s = (row?.storageStats ?? {}) as mongo.Document;
  }
  return {
    name,
    documents: Number(s.count ?? 0),
    data_bytes: Number(s.size ?? 0),
    storage_bytes: Number(s.storageSize ?? 0),
    index_bytes: Number(s.totalIndexSize ?? 0),
    indexes: Object.fromEntries(Object.entries((s.indexSizes ?? {}) as Record<string, unknown>).map(([k, v]) => [k, Number(v)])),
  };
}

/**
 * dbStats and collStats for the whole database, and per-tenant document counts. Per-tenant counts
 * group each tenant collection by tenant_id (a scan: fine for an operator command, not for a hot path);
 * with --tenant it is one indexed count per collection instead.
 */
export async function runStats(ctx: OpsContext, progress: ProgressSink, opts: { tenant?: string }): Promise<StatsReport> {
  const db = await ctx.db();
  const build = await serverBuild(db.admin());
  const d = await db.command({ dbStats: 1 });
  const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((n) => !n.startsWith('system.')).sort();
  const task = progress.start('collections', names.length);
  const collections: CollectionStats[] = [];
  const tenants = new Map<string, StatsReport['tenants'][number]>();
  const add = (tenant: string, coll: CollectionStats, n: number) => {
    const t = tenants.get(tenant) ?? { tenant_id: tenant, documents: 0, est_bytes: 0, by_collection: {} };
    t.documents += n;
    t.by_collection[coll.name] = n;
    t.est_bytes += coll.documents ? Math.round((coll.data_bytes / coll.documents) * n) : 0;
    tenants.set(tenant, t);
  };
  for (const name of names) {
    const cs = await collStats(db, name);
    collections.push(cs);
    const coll = db.collection(name);
    const tenantScoped = name !== 'clients' && (await coll.findOne({ tenant_id: { $exists: true } }, { projection: { _id: 1 } })) !== null;
    if (tenantScoped) {
      if (opts.tenant) {
        add(opts.tenant, cs, await coll.countDocuments({ tenant_id: opts.tenant }));
      } else {
        for (const row of await coll.aggregate<{ _id: unknown; n: number }>([{ $group: { _id: '$tenant_id', n: { $sum: 1 } } }]).toArray()) {
          if (typeof row._id === 'string') add(row._id, cs, row.n);
        }
      }
    }
    task.increment();
  }
  task.done();
  return {
    server: `${build.server === 'ferretdb' ? 'FerretDB' : 'MongoDB'} ${build.version}`,
    database: {
      name: ctx.dbName,
      collections: Number(d.collections ?? names.length),
      documents: Number(d.objects ?? 0),
      data_bytes: Number(d.dataSize ?? 0),
      storage_bytes: Number(d.storageSize ?? 0),
      index_bytes: Number(d.indexSize ?? 0),
    },
    collections,
    tenants: [...tenants.values()].sort((a, b) => b.documents - a.documents),
  };
}
