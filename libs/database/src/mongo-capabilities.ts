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

/** The server a connection talks to, as buildInfo names it: FerretDB adds its own version beside the MongoDB one it emulates. */
export interface ServerBuild {
  server: 'mongodb' | 'ferretdb';
  /** FerretDB's own version on FerretDB, else MongoDB's. */
  version: string;
}

/** One buildInfo, read the one way (capabilities, the index seam, `ops stats`). */
export async function serverBuild(admin: { command(command: Record<string, unknown>): Promise<unknown> }): Promise<ServerBuild> {
  const info = (await admin.command({ buildInfo: 1 })) as { version?: string; ferretdbVersion?: string };
  return info.ferretdbVersion ? { server: 'ferretdb', version: String(info.ferretdbVersion) } : { server: 'mongodb', version: String(info.version ?? 'unknown') };
}

export async function detectCapabilities(conn: Connection): Promise<MongoCapabilities> {
  const admin = conn.db!.admin();
  const build = await serverBuild(admin);
  const hello = (await admin.command({ hello: 1 })) as { setName?: string; msg?: string };
  const ferret = build.server === 'ferretdb';
  const replicaSet = Boolean(hello.setName) || hello.msg === 'isdbgrid';
  const full = !ferret;
  return {
    server: build.server,
    version: ferret ? `ferretdb ${build.version}` : build.version,
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
