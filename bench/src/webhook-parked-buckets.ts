/**
 * `node test/support/run-ts.js bench/src/webhook-parked-buckets.ts [rows...]` (default 0 10000 50000):
 * what the drain and the expiry of a dead endpoint's parked rows cost FerretDB (on PostgreSQL) by the
 * number of rows parked, stored as each version stores them, pre-filled straight into the store:
 *  - before (no buckets): `parked: true`; the drain reads `{endpoint_id, status, parked}` limit 100, the
 *    delivered batch's delete is `{_id $in, endpoint_id, lease_owner $in}`, the expiry reads
 *    `{endpoint_id, status, retry_until $lte, $or}`;
 *  - after (buckets): the rows also carry `parked_slot` and `parked_bucket` (100 rows a bucket, 60 s of
 *    retry windows a slot, one bucket document each); the drain lists the buckets once, then reads
 *    `{endpoint_id, parked_slot, parked_bucket, status, parked}` limit 100, the delete adds the bucket's
 *    equality; the expiry reads the rows not parked (`parked $ne true`), the bucket documents, and the
 *    parked rows of each slot whose windows began.
 * Rows are parked at 100 a second (windows 10 ms apart); the expiry runs 1 s after the first window
 * ended (100 rows past it). Per command: wall ms and FerretDB CPU ms (/proc), and the rows PostgreSQL
 * returns to FerretDB for it (what FerretDB decodes: a count by the same pushed-down equalities, in SQL).
 * PostgreSQL filters the whole table for every one of them (EXPLAIN: Seq Scan; FerretDB pushes equalities
 * as jsonb containment, which no btree serves). 200 free due rows of a healthy endpoint are in every
 * collection. With `--gin`, the after collection also has the GIN indexes FerretDB gets for these reads
 * (ferretDbEqualityIndexes: `ferretdb_gin_parked`, `_parked_bucket`, `_parked_slot`; needs the
 * `-idfix3` build, scripts/install-ferretdb.sh), so PostgreSQL reads the matching rows by index.
 * PostgreSQL from POSTGRES_URL (default postgres://postgres@127.0.0.1:5432); scratch databases.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { Client } from 'pg';
import { createPostgresDatabase, dropPostgresDatabase, findPostgres, startFerretDb } from '@chat/dev-services';
import { cpuMs, DEAD, HEALTHY, median, pendingRow } from './lib/pending-rows';

const SLOT_MS = 60_000;
const BUCKET_ROWS = 100;
type Doc = Record<string, any>;

function row(i: number, endpointId: string, now: number, t0: number, style: 'before' | 'after' | 'free'): Doc {
  const retryUntil = t0 + i * 10;
  const slot = Math.floor(retryUntil / SLOT_MS);
  const firstOfSlot = Math.ceil((slot * SLOT_MS - t0) / 10);
  const parked = { next_attempt_at: new Date(now + 1000), lease_until: new Date(0), lease_owner: null, leased: false, parked: true };
  const fields =
    style === 'before' ? parked
      : style === 'after' ? { ...parked, parked_slot: slot, parked_bucket: `node:1:${slot}:${Math.floor((i - Math.max(0, firstOfSlot)) / BUCKET_ROWS)}` }
        : { next_attempt_at: new Date(now - 1000), lease_until: new Date(0), lease_owner: null, leased: false };
  return pendingRow(i, endpointId, now, { ...fields, retry_until: new Date(style === 'free' ? now + 86_400_000 : retryUntil) });
}

/** Rows PostgreSQL returns for these pushed-down equalities (`$ne: true` as FerretDB pushes it). */
async function pgRows(pg: Client, table: string, eq: Doc, neTrue: string[] = []): Promise<number> {
  const where: string[] = [];
  const args: string[] = [];
  for (const [k, v] of Object.entries(eq)) {
    args.push(k, JSON.stringify(v));
    where.push(`_jsonb->$${args.length - 1} @> $${args.length}::jsonb`);
  }
  for (const k of neTrue) {
    args.push(k);
    where.push(`NOT (_jsonb ? $${args.length} AND _jsonb->$${args.length} @> 'true')`);
  }
  const r = await pg.query(`SELECT count(*)::int AS n FROM probe.${table} WHERE ${where.join(' AND ')}`, args);
  return r.rows[0].n as number;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).map(Number).filter((n) => n >= 0 && Number.isFinite(n));
  const sizes = args.length ? args : [0, 10_000, 50_000];
  const gin = process.argv.includes('--gin');
  const server = await findPostgres(process.env, () => undefined);
  if (!server) throw new Error('no PostgreSQL');
  const dir = mkdtempSync(join(tmpdir(), 'parked-buckets-'));
  console.log('| parked rows | version | command | wall ms | FerretDB CPU ms | rows PostgreSQL returns |\n| --- | --- | --- | --- | --- | --- |');
  for (const n of sizes) {
    const db = `parked_buckets_${process.pid}_${n}`;
    const url = await createPostgresDatabase(server, db);
    const f = await startFerretDb({ dataDir: join(dir, String(n)), postgresqlUrl: url, log: () => undefined, reuse: false });
    const client = new MongoClient(f.uri);
    const pg = new Client({ connectionString: url });
    await pg.connect();
    try {
      const d = client.db('probe');
      const now = Date.now();
      const t0 = Math.ceil((now + 3_600_000) / SLOT_MS) * SLOT_MS;
      const pending = { before: d.collection<Doc>('before_pending'), after: d.collection<Doc>('after_pending') };
      const buckets = d.collection<Doc>('after_buckets');
      await buckets.createIndex({ endpoint_id: 1 });
      for (const style of ['before', 'after'] as const) {
        const c = pending[style];
        await c.createIndex({ status: 1, parked: 1, next_attempt_at: 1 });
        await c.createIndex({ endpoint_id: 1, created_at: -1, _id: -1 });
        if (style === 'after') await c.createIndex({ endpoint_id: 1, parked_slot: 1, parked_bucket: 1 });
        if (style === 'after' && gin) for (const f of ['parked', 'parked_bucket', 'parked_slot']) await c.createIndex({ [f]: 1 }, { name: `ferretdb_gin_${f}` });
        const rows = [...Array.from({ length: n }, (_, i) => row(i, DEAD, now, t0, style)), ...Array.from({ length: 200 }, (_, i) => row(i, HEALTHY, now, t0, 'free'))];
        for (let i = 0; i < rows.length; i += 1000) await c.insertMany(rows.slice(i, i + 1000));
        if (style === 'after') {
          const keys = new Map<string, number>();
          for (const r of rows) if (r.parked_bucket) keys.set(r.parked_bucket, r.parked_slot);
          const docs = [...keys].map(([key, slot]) => ({ _id: `${DEAD}:${key}`, endpoint_id: DEAD, tenant_id: 'tenant', key, owner: 'node:1', slot, retry_from: new Date(slot * SLOT_MS) }));
          for (let i = 0; i < docs.length; i += 1000) await buckets.insertMany(docs.slice(i, i + 1000) as never[]);
        }
      }
      const tables = new Map<string, string>((await pg.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'probe'`)).rows.map((r: { tablename: string }) => [r.tablename.replace(/_[0-9a-f]{8}$/, ''), r.tablename]));
      const table = (name: string) => tables.get(name) ?? name;
      // The plan PostgreSQL picks for a bucket read as FerretDB sends it (the index on the same fields exists).
      const plan = await pg.query(`EXPLAIN SELECT _jsonb FROM probe.${table('after_pending')} WHERE _jsonb->$1 @> $2::jsonb AND _jsonb->$3 @> $4::jsonb`, ['endpoint_id', JSON.stringify(DEAD), 'parked_bucket', JSON.stringify('node:1:0:0')]);
      console.log(`| ${n} | plan | ${plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join(' / ')} | | | |`);
      const pid = f.process!.pid!;
      const time = async (version: string, label: string, reps: number, op: () => Promise<unknown>, returned: () => Promise<number>) => {
        const walls: number[] = [];
        const cpus: number[] = [];
        const rowsBack = await returned();
        for (let i = 0; i < reps; i++) {
          const c0 = cpuMs(pid);
          const t = performance.now();
          await op();
          walls.push(performance.now() - t);
          cpus.push(cpuMs(pid) - c0);
        }
        console.log(`| ${n} | ${version} | ${label} | ${median(walls).toFixed(1)} | ${median(cpus).toFixed(0)} | ${rowsBack} |`);
      };
      // The expiry, read part (both versions move the same 100 rows after it): 1 s after the first window ended.
      const at = new Date(t0 + 999);
      const notHeld = { $or: [{ lease_until: { $lte: at } }, { lease_owner: { $in: ['node:9'] } }] };
      await time('before', 'expiry read (endpoint, status; retry_until, $or in FerretDB)', 3,
        () => pending.before.find({ endpoint_id: DEAD, status: 'pending', retry_until: { $lte: at }, ...notHeld }).toArray(),
        () => pgRows(pg, table('before_pending'), { endpoint_id: DEAD, status: 'pending' }));
      await time('after', 'expiry: rows not parked (parked $ne true)', 5,
        () => pending.after.find({ endpoint_id: DEAD, status: 'pending', parked: { $ne: true }, retry_until: { $lte: at }, ...notHeld }).toArray(),
        () => pgRows(pg, table('after_pending'), { endpoint_id: DEAD, status: 'pending' }, ['parked']));
      await time('after', 'expiry: bucket documents of the endpoint', 5,
        () => buckets.find({ endpoint_id: DEAD }).toArray(),
        () => pgRows(pg, table('after_buckets'), { endpoint_id: DEAD }));
      const slot = Math.floor(t0 / SLOT_MS);
      await time('after', 'expiry: parked rows of the one slot begun (parked_slot)', 5,
        () => pending.after.find({ endpoint_id: DEAD, status: 'pending', parked: true, parked_slot: slot }).toArray(),
        () => pgRows(pg, table('after_pending'), { endpoint_id: DEAD, status: 'pending', parked: true, parked_slot: slot }));
      // Drain batches: read 100 ids, claim them (one update by `_id` each, as on FerretDB; not timed, the same in both), delete them as delivered.
      for (const version of ['before', 'after'] as const) {
        const c = pending[version];
        const walk = version === 'after' ? ((await buckets.find({ endpoint_id: DEAD }).toArray()) as Doc[]).sort((a, b) => a.slot - b.slot || (a.key < b.key ? -1 : 1)) : [];
        for (let batch = 0; batch < 3; batch++) {
          const b = walk[0];
          const eq: Doc = { endpoint_id: DEAD, ...(b ? { parked_slot: b.slot, parked_bucket: b.key } : {}), status: 'pending', parked: true };
          let ids: string[] = [];
          await time(version, `drain ${batch + 1}: ids of 100 parked rows${b ? ' (one bucket)' : ''}`, 1,
            async () => (ids = (await c.find(eq, { projection: { _id: 1 } }).limit(100).toArray()).map((r) => String(r._id))),
            () => pgRows(pg, table(`${version}_pending`), eq));
          if (b) walk.shift();
          const token = `node:1:${batch}`;
          for (const id of ids) await c.updateOne({ _id: id as never, status: 'pending', parked: true }, { $set: { lease_owner: token, lease_until: new Date(now + 60_000), leased: true, parked: false } });
          const del: Doc = { _id: { $in: ids }, endpoint_id: DEAD, ...(b ? { parked_bucket: b.key } : {}), lease_owner: { $in: [token] } };
          await time(version, `drain ${batch + 1}: delete of the 100 delivered`, 1,
            () => c.deleteMany(del),
            () => pgRows(pg, table(`${version}_pending`), { endpoint_id: DEAD, ...(b ? { parked_bucket: b.key } : {}) }));
        }
      }
    } finally {
      await pg.end();
      await client.close();
      await f.stop();
      await dropPostgresDatabase(server, db);
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
