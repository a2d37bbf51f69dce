import type { Connection } from 'mongoose';

/**
 * What the connected server can do. FerretDB v1 (dev/test) lacks transactions, change streams,
 * $lookup, $facet, TTL indexes and arrayFilters; MongoDB 7 (production) has them. Code that wants a
 * MongoDB-only feature asks here and keeps a path that works without it.
 */
export interface MongoCapabilities {
  server: 'mongodb' | 'ferretdb';
  version: string;
  replicaSet: boolean;
  transactions: boolean;
  changeStreams: boolean;
  lookup: boolean;
  ttlIndexes: boolean;
  arrayFilters: boolean;
}

export async function detectCapabilities(conn: Connection): Promise<MongoCapabilities> {
  const admin = conn.db!.admin();
  const info = (await admin.command({ buildInfo: 1 })) as { version?: string; ferretdbVersion?: string };
  const hello = (await admin.command({ hello: 1 })) as { setName?: string; msg?: string };
  const ferret = Boolean(info.ferretdbVersion);
  const replicaSet = Boolean(hello.setName) || hello.msg === 'isdbgrid';
  const full = !ferret;
  return {
    server: ferret ? 'ferretdb' : 'mongodb',
    version: ferret ? `ferretdb ${info.ferretdbVersion}` : String(info.version ?? 'unknown'),
    replicaSet,
    transactions: full && replicaSet,
    changeStreams: full && replicaSet,
    lookup: full,
    ttlIndexes: full,
    arrayFilters: full,
  };
}

/**
 * How repositories must talk to the server (StoreDialect). Unknown capabilities count as FerretDB,
 * the safe side: writes serialised, no findAndModify projection.
 */
export type StoreDialectName = 'mongodb' | 'ferretdb';

export function dialectOf(capabilities: MongoCapabilities | undefined): StoreDialectName {
  return capabilities?.server === 'mongodb' ? 'mongodb' : 'ferretdb';
}
