/**
 * `node test/support/run-ts.js bench/src/webhook-parked-cost.ts [rows...]` (default 0 10000 50000): what
 * the dispatcher's database commands cost FerretDB (on PostgreSQL) by the number of rows waiting for a
 * dead endpoint's open circuit, stored as each version stores them, pre-filled straight into the store:
 *  - before: leased to the node that parked them, due at its probe time (lease_until = next_attempt_at,
 *    run out by now, as after the first probe time), read by the full due-rows scan as it was;
 *  - after: `parked: true`, free, left out of the full due-rows scan by `parked $ne true` (pushed down);
 *  - gin: as after, every other row written `parked: false`, with the GIN indexes FerretDB gets
 *    (ferretDbEqualityIndexes: `ferretdb_gin_parked` ...), and the free scan asking `parked: false`.
 * Also the drain's query (parkedIds: endpoint_id, status, parked equalities, limit 100, no sort) and the
 * free scan. Wall ms per command and FerretDB's CPU ms per command (/proc), medians of the repetitions;
 * 200 free due rows of a healthy endpoint are in every collection (what the scans are for). PostgreSQL
 * from POSTGRES_URL (default postgres://postgres@127.0.0.1:5432); a scratch database is made and dropped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { createPostgresDatabase, dropPostgresDatabase, findPostgres, startFerretDb } from '@chat/dev-services';
import { cpuMs, DEAD, HEALTHY, median, pendingRow } from './lib/pending-rows';

function row(i: number, endpointId: string, now: number, style: 'before' | 'after' | 'free' | 'free-gin'): Record<string, unknown> {
  const probe = new Date(now - 1000);
  const lease =
    style === 'before'
      ? { next_attempt_at: probe, lease_until: probe, lease_owner: 'dead-node:1', leased: true }
      : style === 'after'
        ? { next_attempt_at: probe, lease_until: new Date(0), lease_owner: null, leased: false, parked: true }
        : { next_attempt_at: new Date(now - 1000), lease_until: new Date(0), lease_owner: null, leased: false, ...(style === 'free-gin' ? { parked: false } : {}) };
  return pendingRow(i, endpointId, now, lease);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).map(Number).filter((n) => n >= 0 && Number.isFinite(n));
  const sizes = args.length ? args : [0, 10_000, 50_000];
  const pg = await findPostgres(process.env, () => undefined);
  if (!pg) throw new Error('no PostgreSQL');
  const dir = mkdtempSync(join(tmpdir(), 'parked-cost-'));
  const results: Array<{ n: number; label: string; wall: number; cpu: number }> = [];
  for (const n of sizes) {
    const db = `parked_cost_${process.pid}_${n}`;
    const url = await createPostgresDatabase(pg, db);
    const f = await startFerretDb({ dataDir: join(dir, String(n)), postgresqlUrl: url, log: () => undefined, reuse: false });
    const client = new MongoClient(f.uri);
    try {
      const d = client.db('probe');
      const now = Date.now();
      const collections = { before: d.collection<any>('before_pending'), after: d.collection<any>('after_pending'), gin: d.collection<any>('gin_pending') };
      for (const [style, c] of Object.entries(collections) as Array<['before' | 'after' | 'gin', (typeof collections)['before']]>) {
        // The indexes each version declares for webhook_pending.
        await c.createIndex(style === 'before' ? { status: 1, next_attempt_at: 1 } : { status: 1, parked: 1, next_attempt_at: 1 });
        await c.createIndex({ endpoint_id: 1, created_at: -1, _id: -1 });
        if (style === 'gin') for (const f of ['parked', 'parked_bucket', 'parked_slot']) await c.createIndex({ [f]: 1 }, { name: `ferretdb_gin_${f}` });
        const dead = style === 'gin' ? 'after' : style;
        const rows = [...Array.from({ length: n }, (_, i) => row(i, DEAD, now, dead)), ...Array.from({ length: 200 }, (_, i) => row(i, HEALTHY, now, style === 'gin' ? 'free-gin' : 'free'))];
        for (let i = 0; i < rows.length; i += 1000) await c.insertMany(rows.slice(i, i + 1000));
      }
      const pid = f.process!.pid!;
      const time = async (label: string, reps: number, op: () => Promise<unknown>) => {
        const walls: number[] = [];
        const cpus: number[] = [];
        await op(); // warm
        for (let i = 0; i < reps; i++) {
          const c0 = cpuMs(pid);
          const t0 = performance.now();
          await op();
          walls.push(performance.now() - t0);
          cpus.push(cpuMs(pid) - c0);
        }
        results.push({ n, label, wall: median(walls), cpu: median(cpus) });
        console.log(`| ${n} | ${label} | ${median(walls).toFixed(2)} | ${median(cpus).toFixed(1)} |`);
      };
      const scan = (c: (typeof collections)['before'], extra: Record<string, unknown>) => () =>
        c.find({ status: 'pending', ...extra, next_attempt_at: { $lte: new Date() }, lease_until: { $lte: new Date() } }, { projection: { _id: 1, endpoint_id: 1, leased: 1 } }).sort({ next_attempt_at: 1 }).limit(100).toArray();
      const reps = n >= 50_000 ? 3 : 7;
      await time('before: full due-rows scan', reps, scan(collections.before, {}));
      await time('after: full due-rows scan (parked $ne true)', 7, scan(collections.after, { parked: { $ne: true } }));
      await time('after: free due-rows scan (leased false, parked $ne true)', 7, scan(collections.after, { leased: false, parked: { $ne: true } }));
      await time('gin: free due-rows scan (leased false, parked false)', 7, scan(collections.gin, { leased: false, parked: false }));
      await time('gin: full due-rows scan (parked $ne true)', 7, scan(collections.gin, { parked: { $ne: true } }));
      await time('after: drain query (endpoint, status, parked; limit 100)', 7, () => collections.after.find({ endpoint_id: DEAD, status: 'pending', parked: true }, { projection: { _id: 1 } }).limit(100).toArray());
    } finally {
      await client.close();
      await f.stop();
      await dropPostgresDatabase(pg, db);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  // Ratios against the same command with no parked rows (the first size), in this run.
  const base = new Map(results.filter((r) => r.n === sizes[0]).map((r) => [r.label, r]));
  console.log('\n| rows | command | wall ratio vs first size | FerretDB CPU ratio |');
  for (const r of results) {
    const b = base.get(r.label);
    if (b) console.log(`| ${r.n} | ${r.label} | ${(r.wall / b.wall).toFixed(1)} | ${b.cpu > 0 ? (r.cpu / b.cpu).toFixed(1) : 'n/a'} |`);
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
