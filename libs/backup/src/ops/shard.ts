import { mongo } from 'mongoose';
import type { OpsContext } from './ops-context';

/**
 * Shard keys, one per large collection; the reasons are in docs/scale-out.md. Every key starts with
 * tenant_id: a tenant's data stays together (targeted queries) and zone ranges on tenant_id keep it in
 * its region. Small platform collections (clients, applications, api_keys, platform_admins, billing,
 * aggregations, migrations) stay unsharded on the primary shard.
 */
export const SHARD_KEYS: Record<string, Record<string, 1 | 'hashed'>> = {
  messages: { tenant_id: 1, conversation_id: 1 },
  conversations: { tenant_id: 1, direct_key: 1 },
  users: { tenant_id: 1, external_id: 1 },
  files: { tenant_id: 1, _id: 1 },
  events: { tenant_id: 1, _id: 'hashed' },
  metrics: { tenant_id: 1, _id: 'hashed' },
  audit_logs: { tenant_id: 1, _id: 'hashed' },
};

export interface ShardPlan {
  commands: string[];
  warnings: string[];
}

function js(v: unknown): string {
  return JSON.stringify(v);
}

function rangeBound(key: Record<string, unknown>, tenantId: string, bound: 'min' | 'max'): string {
  return `{ ${Object.keys(key)
    .map((f) => `${js(f)}: ${f === 'tenant_id' ? js(tenantId) : bound === 'min' ? 'MinKey' : 'MaxKey'}`)
    .join(', ')} }`;
}

/** `eu=shardA,shardB` -> { eu: [shardA, shardB] } */
export function parseZones(specs: string[]): Map<string, string[]> {
  const zones = new Map<string, string[]>();
  for (const spec of specs) {
    const m = /^([A-Za-z0-9_-]+)=([A-Za-z0-9_.,-]+)$/.exec(spec);
    if (!m) throw new Error(`--zone must look like region=shard1,shard2 (got ${spec})`);
    zones.set(m[1], m[2].split(',').filter(Boolean));
  }
  return zones;
}

/**
 * The mongosh commands that shard the database: enable sharding, shard each collection with its key,
 * tag shards with their region's zone and pin each tenant's key range to its region. Also checks the
 * live indexes: a unique index not prefixed by the shard key would make shardCollection fail.
 */
export async function planSharding(ctx: OpsContext, opts: { zones: Map<string, string[]> }): Promise<ShardPlan> {
  const dbName = ctx.dbName;
  const db = await ctx.db();
  const commands: string[] = [`sh.enableSharding(${js(dbName)})`];
  const warnings: string[] = [];
  const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  for (const [coll, key] of Object.entries(SHARD_KEYS)) {
    commands.push(`sh.shardCollection(${js(`${dbName}.${coll}`)}, ${js(key)})`);
    if (!existing.has(coll)) continue;
    for (const ix of await db.collection(coll).listIndexes().toArray()) {
      if (!ix.unique || ix.name === '_id_') continue;
      const ixFields = Object.keys(ix.key as object);
      const keyFields = Object.keys(key);
      const prefixed = keyFields.every((f, i) => ixFields[i] === f) && !Object.values(key).includes('hashed');
      if (!prefixed) warnings.push(`${coll}: unique index ${ix.name} (${ixFields.join(', ')}) is not prefixed by the shard key (${keyFields.join(', ')}): change it before sharding (see docs/scale-out.md)`);
    }
  }
  for (const [zone, shards] of opts.zones) for (const shard of shards) commands.push(`sh.addShardToZone(${js(shard)}, ${js(zone)})`);
  if (opts.zones.size) {
    const clients = existing.has('clients') ? await db.collection('clients').find({}, { projection: { region: 1 }, sort: { _id: 1 } }).toArray() : [];
    for (const c of clients) {
      const tenantId = String(c._id);
      const region = String(c.region ?? '');
      if (!opts.zones.has(region)) {
        warnings.push(`tenant ${tenantId}: region ${js(region)} has no zone (--zone ${region}=<shards>): its data may live on any shard`);
        continue;
      }
      for (const [coll, key] of Object.entries(SHARD_KEYS)) {
        commands.push(`sh.updateZoneKeyRange(${js(`${dbName}.${coll}`)}, ${rangeBound(key, tenantId, 'min')}, ${rangeBound(key, tenantId, 'max')}, ${js(region)})`);
      }
    }
  }
  return { commands, warnings };
}

/** Runs the plan against a mongos. Refuses anything else: FerretDB and a plain replica set cannot shard. */
export async function applySharding(ctx: OpsContext, opts: { zones: Map<string, string[]> }, log: (l: string) => void): Promise<ShardPlan> {
  const client = await ctx.mongo();
  const admin = client.db('admin');
  const hello = (await admin.command({ hello: 1 })) as { msg?: string };
  if (hello.msg !== 'isdbgrid') {
    throw new Error('shard must run against a mongos of a MongoDB sharded cluster (this server is not one; FerretDB and replica sets cannot shard). Use --dry-run to print the commands.');
  }
  const plan = await planSharding(ctx, opts);
  if (plan.warnings.some((w) => w.includes('unique index'))) throw new Error(`Fix these first:\n${plan.warnings.join('\n')}`);
  const dbName = ctx.dbName;
  await admin.command({ enableSharding: dbName }).catch(() => undefined); // implicit since MongoDB 6
  for (const [coll, key] of Object.entries(SHARD_KEYS)) {
    log(`sharding ${dbName}.${coll}`);
    await admin.command({ shardCollection: `${dbName}.${coll}`, key });
  }
  for (const [zone, shards] of opts.zones) for (const shard of shards) await admin.command({ addShardToZone: shard, zone });
  const clients = await client.db(dbName).collection('clients').find({}, { projection: { region: 1 } }).toArray();
  for (const c of clients) {
    const region = String(c.region ?? '');
    if (!opts.zones.has(region)) continue;
    for (const [coll, key] of Object.entries(SHARD_KEYS)) {
      const min: mongo.Document = {};
      const max: mongo.Document = {};
      for (const f of Object.keys(key)) {
        min[f] = f === 'tenant_id' ? String(c._id) : new mongo.MinKey();
        max[f] = f === 'tenant_id' ? String(c._id) : new mongo.MaxKey();
      }
      await admin.command({ updateZoneKeyRange: `${dbName}.${coll}`, min, max, zone: region });
    }
  }
  return plan;
}
