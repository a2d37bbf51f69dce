/**
 * `node test/support/run-ts.js bench/src/webhook-scan-cost.ts [rows...]`: what the dispatcher's database
 * commands cost FerretDB (on PostgreSQL) when an endpoint's receiver fails, by the number of rows
 * waiting for a retry in `webhook_pending` (`leased: false`, next attempt later): the due-rows scan
 * (WebhookDeliveriesRepository.dueIds, free rows only and full), a retry outcome's update by `_id` and
 * lease owner, a claim by `_id`, an attempt log insert. Wall ms per command and FerretDB's CPU ms per
 * command (/proc). PostgreSQL from POSTGRES_URL (default postgres://postgres@127.0.0.1:5432); a scratch
 * database is made and dropped.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { createPostgresDatabase, dropPostgresDatabase, findPostgres, startFerretDb } from '@chat/dev-services';

function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  const pg = await findPostgres(process.env, () => undefined);
  if (!pg) throw new Error('no PostgreSQL');
  const dir = mkdtempSync(join(tmpdir(), 'scan-cost-'));
  for (const n of sizes.length ? sizes : [100, 1000, 3000]) {
    const db = `scan_cost_${process.pid}_${n}`;
    const url = await createPostgresDatabase(pg, db);
    const f = await startFerretDb({ dataDir: join(dir, String(n)), postgresqlUrl: url, log: () => undefined, reuse: false });
    const client = new MongoClient(f.uri);
    try {
      const d = client.db('probe');
      const pending = d.collection<any>('webhook_pending');
      const attempts = d.collection<any>('webhook_attempts');
      const now = Date.now();
      const later = new Date(now + 60_000);
      const rows = Array.from({ length: n }, (_, i) => ({
        _id: `evt_${String(i).padStart(32, '0')}:656f0000000000000000000${i % 10}`,
        tenant_id: 'tenant', application_id: 'app', endpoint_id: '656f00000000000000000001', event_id: `evt_${i}`, type: 'message.new',
        payload: { id: `evt_${i}`, type: 'message.new', created_at: new Date(now).toISOString(), tenant_id: 'tenant', data: { message_id: `m${i}`, conversation_id: 'c1', sender_id: 'u1', seq: i, type: 'text', created_at: new Date(now).toISOString() } },
        status: 'pending', attempts: 1, next_attempt_at: later, retry_until: new Date(now + 86_400_000), lease_until: new Date(0), lease_owner: null, leased: false,
        last_status_code: 500, last_error: null, delivered_at: null, created_at: new Date(now), updated_at: new Date(now),
      }));
      for (let i = 0; i < rows.length; i += 500) await pending.insertMany(rows.slice(i, i + 500));
      const pid = f.process!.pid!;
      const time = async (label: string, k: number, op: (i: number) => Promise<unknown>) => {
        const c0 = cpuMs(pid);
        const t0 = performance.now();
        for (let i = 0; i < k; i++) await op(i);
        const wall = (performance.now() - t0) / k;
        const cpu = (cpuMs(pid) - c0) / k;
        console.log(`| ${n} | ${label} | ${wall.toFixed(2)} | ${cpu.toFixed(2)} |`);
      };
      const scan = (onlyFree: boolean) => () =>
        pending.find({ status: 'pending', ...(onlyFree ? { leased: false } : {}), next_attempt_at: { $lte: new Date() }, lease_until: { $lte: new Date() } }, { projection: { _id: 1, endpoint_id: 1, leased: 1 } }).sort({ next_attempt_at: 1 }).limit(100).toArray();
      await time('due-rows scan, free rows only', 20, scan(true));
      await time('due-rows scan, full', 20, scan(false));
      await time('retry outcome updateOne {_id, lease_owner}', 50, (i) => pending.updateOne({ _id: rows[i]!._id, lease_owner: null }, { $set: { attempts: 2, updated_at: new Date(), leased: false } }));
      await time('claim findOneAndUpdate {_id, due, free}', 50, (i) => pending.findOneAndUpdate({ _id: rows[100 + i]?._id ?? rows[i]!._id, status: 'pending', lease_until: { $lte: new Date() } }, { $set: { lease_owner: 'x', leased: true } }));
      await time('attempt log insertOne', 50, (i) => attempts.insertOne({ delivery_id: rows[i]!._id, attempt: 1, at: new Date(), status_code: 500, latency_ms: 1, error: null }));
    } finally {
      await client.close();
      await f.stop();
      await dropPostgresDatabase(pg, db);
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
