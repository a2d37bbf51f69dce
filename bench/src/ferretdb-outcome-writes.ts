/**
 * `node test/support/run-ts.js bench/src/ferretdb-outcome-writes.ts [batches] [rows per batch]`: what the
 * webhook dispatcher's delivered-outcome writes (libs/webhooks DeliveredOutcomes) cost FerretDB and
 * PostgreSQL per delivered event, in the shape before the first attempt was folded into the row
 * (`before`: an insertMany of attempt documents, an insertMany of the full rows into the log, a
 * deleteMany of the pending rows) and after (`after`: the rows with `first_attempt` and without their
 * lease fields, then the deleteMany). The pending rows each batch deletes are inserted before it,
 * unmeasured (the outbox insert is the same in both). Shapes alternate batch by batch; reports per
 * delivered event and command FerretDB's CPU and PostgreSQL's backends' CPU (from /proc), wall time, and
 * the documents' size in the log and attempts tables at the end. SHAPES=before,after,no-payload,after-each adds
 * diagnostic shapes: the folded row without its payload (what the payload costs; not replayable), and
 * the pending rows deleted one bare-`_id` command each (16 at a time) instead of by one `$in`; `after-bulk`:
 * one `delete` command of one bare-`_id` statement per row; `after-endpoint`: the `$in` with the rows'
 * endpoint as an equality (pushed down: only that endpoint's pending rows are read). BACKLOG=n pre-fills
 * every pending collection with n rows of a dead endpoint that no batch deletes. Binary:
 * FERRETDB_BIN (default: the build the app starts, libs/dev-services ferretDbBinaryPath). PostgreSQL from POSTGRES_URL (default
 * postgres://postgres@127.0.0.1:5432); a scratch database `outcomeprobe` is made and dropped.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MongoClient, type Collection, type Document } from 'mongodb';
import { Client } from 'pg';
import { FERRETDB_VERSION, waitForPort } from '@chat/dev-services';
import { freshProbeDatabase, PROBE_PG as PG, probeFerretDbBin, spawnProbeFerretDb } from './lib/probe-ferretdb';

const DB = 'outcomeprobe';

/** CPU seconds (user + system) of a process, from /proc/<pid>/stat (0 once it is gone). */
function cpuOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

type Shape = 'before' | 'after' | 'no-payload' | 'after-each' | 'after-bulk' | 'after-endpoint';

const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

/** A message.new outbox row as WebhookOutbox.row makes it, leased by `owner` (as claimed). */
function pendingRow(endpointId: string, tenantId: string, owner: string, now: Date) {
  const eventId = `evt_${hex(64)}`;
  const payload = {
    id: eventId,
    type: 'message.new',
    created_at: now.toISOString(),
    tenant_id: tenantId,
    data: { message_id: hex(24), conversation_id: hex(24), seq: 42, sender_id: 'user-000123', type: 'text', mentions: [], thread_parent_id: null, created_at: now.toISOString() },
  };
  return {
    _id: `${eventId}:${endpointId}`,
    tenant_id: tenantId,
    application_id: hex(24),
    endpoint_id: endpointId,
    event_id: eventId,
    type: 'message.new',
    payload,
    status: 'pending',
    attempts: 0,
    next_attempt_at: now,
    retry_until: new Date(now.getTime() + 86400_000),
    lease_until: new Date(now.getTime() + 30_000),
    lease_owner: owner,
    leased: true,
    last_status_code: null,
    last_error: null,
    delivered_at: null,
    created_at: now,
    updated_at: now,
  };
}

async function main(): Promise<void> {
  const batches = Number(process.argv[2] ?? 40);
  const per = Number(process.argv[3] ?? 100);
  const admin = await freshProbeDatabase(DB);
  const { port, child } = await spawnProbeFerretDb(probeFerretDbBin(), `${PG}/${DB}`);
  const client = new MongoClient(`mongodb://127.0.0.1:${port}/`, { maxPoolSize: 4 });
  const backendsCpu = async () => {
    const r = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [DB]);
    return r.rows.reduce((s, row) => s + cpuOf(row.pid), 0);
  };
  try {
    await waitForPort(port);
    await client.connect();
    const db = client.db('probe');
    // `no-payload` is a diagnostic only (a log row without the body cannot be replayed): what the payload costs.
    const names = (process.env.SHAPES ?? 'before,after').split(',') as Shape[];
    const shapes = Object.fromEntries(
      names.map((n) => [n, { pending: db.collection(`pending_${n.replace('-', '')}`), log: db.collection(`log_${n.replace('-', '')}`), attempts: db.collection(`attempts_${n.replace('-', '')}`) }]),
    ) as Record<Shape, { pending: Collection<Document>; log: Collection<Document>; attempts: Collection<Document> }>;
    for (const s of Object.values(shapes)) {
      for (const c of [s.pending, s.log]) {
        await c.createIndex({ status: 1, next_attempt_at: 1 });
        await c.createIndex({ endpoint_id: 1, created_at: -1, _id: -1 });
      }
      await s.attempts.createIndex({ delivery_id: 1, at: 1 });
      await s.attempts.createIndex({ at: 1 });
    }
    const endpointId = hex(24);
    const tenantId = hex(24);
    const node = randomUUID();
    // BACKLOG=n: n pending rows of another (dead) endpoint in every shape's pending collection, waiting for a
    // retry and never deleted: what a delete that scans the pending set pays for on top of its own rows.
    const backlog = Number(process.env.BACKLOG ?? 0);
    if (backlog > 0) {
      const dead = hex(24);
      for (const s of Object.values(shapes)) {
        for (let i = 0; i < backlog; i += 500) {
          const at = new Date();
          await s.pending.insertMany(Array.from({ length: Math.min(500, backlog - i) }, () => ({ ...pendingRow(dead, tenantId, 'gone', at), attempts: 3, leased: false, lease_owner: null, lease_until: new Date(0) })) as Document[]);
        }
      }
    }
    type Cost = { ferret: number; pg: number; wall: number };
    const totals = new Map<string, Cost>();
    const measure = async (key: string, run: () => Promise<unknown>) => {
      const f0 = cpuOf(child.pid!);
      const p0 = await backendsCpu();
      const w0 = performance.now();
      await run();
      const wall = performance.now() - w0;
      const p1 = await backendsCpu();
      const t = totals.get(key) ?? { ferret: 0, pg: 0, wall: 0 };
      t.wall += wall;
      t.ferret += cpuOf(child.pid!) - f0;
      t.pg += p1 - p0;
      totals.set(key, t);
    };
    for (let b = 0; b < batches * names.length; b++) {
      // Round-robin, the order rotating every round, so drift in the machine's load hits every shape alike.
      const round = Math.floor(b / names.length);
      const shape = names[(b + round) % names.length]!;
      const { pending, log, attempts } = shapes[shape];
      const owner = `${node}:${b}`;
      const now = new Date();
      const rows = Array.from({ length: per }, () => pendingRow(endpointId, tenantId, owner, now));
      await pending.insertMany(rows.map((r) => ({ ...r })) as Document[]);
      const done = rows.map((d) => ({ ...d, status: 'delivered', attempts: 1, last_status_code: 200, last_error: null, delivered_at: now, updated_at: now, lease_until: new Date(0), lease_owner: null, leased: false }));
      if (shape === 'before') {
        await measure(`${shape} attempts insertMany`, () =>
          attempts.insertMany(rows.map((d) => ({ delivery_id: d._id, endpoint_id: d.endpoint_id, tenant_id: d.tenant_id, attempt: 1, at: now, status_code: 200, latency_ms: 3, error: null, node }))),
        );
        await measure(`${shape} log insertMany`, () => log.insertMany(done as Document[], { ordered: false }));
      } else {
        const folded = done.map(({ lease_until: _u, lease_owner: _o, leased: _l, payload, ...kept }) => ({
          ...kept,
          ...(shape === 'no-payload' ? {} : { payload }),
          first_attempt: { at: now, status_code: 200, latency_ms: 3 },
        }));
        await measure(`${shape} log insertMany`, () => log.insertMany(folded as Document[], { ordered: false }));
      }
      if (shape === 'after-each') {
        // Diagnostic: one bare-_id delete per row, 16 at a time (FerretDB pushes a bare _id down; an $in it scans).
        await measure(`${shape} pending deleteOne per row`, async () => {
          for (let i = 0; i < rows.length; i += 16) await Promise.all(rows.slice(i, i + 16).map((d) => pending.deleteOne({ _id: d._id as never, lease_owner: owner })));
        });
      } else if (shape === 'after-bulk') {
        // Diagnostic: one `delete` command carrying one bare-_id statement per row (a bulkWrite of deleteOne; no such call in libs).
        await measure(`${shape} pending delete, one statement per row`, () =>
          pending.bulkWrite(rows.map((d) => ({ deleteOne: { filter: { _id: d._id as never, lease_owner: { $in: [owner] } } } })), { ordered: false }),
        );
      } else if (shape === 'after-endpoint') {
        // The $in with the rows' endpoint as an equality FerretDB pushes down: only that endpoint's pending rows are read.
        await measure(`${shape} pending deleteMany by endpoint`, () =>
          pending.deleteMany({ _id: { $in: rows.map((d) => d._id) } as never, endpoint_id: endpointId, lease_owner: { $in: [owner] } }),
        );
      } else {
        await measure(`${shape} pending deleteMany`, () => pending.deleteMany({ _id: { $in: rows.map((d) => d._id) } as never, lease_owner: { $in: [owner] } }));
      }
    }
    const events = batches * per;
    // PostgreSQL's catalog for the database is only visible from a connection to it.
    await admin.end();
    const inDb = new Client({ connectionString: `${PG}/${DB}` });
    await inDb.connect();
      /**
     * The tables named `prefix…`: their documents as jsonb text (what FerretDB builds and PostgreSQL parses),
     * as stored (a value over ~2 kB is compressed), and in all (tables and indexes).
     */
    const bytes = async (prefix: string) => {
      const tables = (
        await inDb.query<{ name: string; total: string }>(
          "SELECT c.relname AS name, pg_total_relation_size(c.oid)::bigint AS total FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'probe' AND c.relkind = 'r' AND c.relname LIKE $1",
          // FerretDB names a collection's table `<name>_<hash>`; `_` is a LIKE wildcard.
          [`${prefix.replace(/_/g, '\\_')}\\_%`],
        )
      ).rows;
      let text = 0;
      let stored = 0;
      for (const t of tables) {
        const r = (await inDb.query<{ text: string; stored: string }>(`SELECT coalesce(sum(length(_jsonb::text)), 0)::bigint AS text, coalesce(sum(pg_column_size(_jsonb)), 0)::bigint AS stored FROM probe."${t.name}"`)).rows[0]!;
        text += Number(r.text);
        stored += Number(r.stored);
      }
      return { text, stored, total: tables.reduce((sum, t) => sum + Number(t.total), 0) };
    };
    console.log(`FerretDB ${FERRETDB_VERSION} on PostgreSQL; ${batches} batches of ${per} delivered outcomes per shape, round-robin; ${backlog} backlog pending rows per shape`);
    console.log('| shape / command | FerretDB CPU µs/event | PostgreSQL CPU µs/event | wall µs/event | log + attempts jsonb text chars/event | stored bytes/event | with indexes |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    const perEvent = (n: number) => Math.round(n / events);
    for (const shape of names) {
      const sum: Cost = { ferret: 0, pg: 0, wall: 0 };
      const lines: string[] = [];
      for (const [key, t] of totals) {
        if (!key.startsWith(`${shape} `)) continue;
        sum.ferret += t.ferret;
        sum.pg += t.pg;
        sum.wall += t.wall;
        lines.push(`| ${key} | ${perEvent(t.ferret * 1e6)} | ${perEvent(t.pg * 1e6)} | ${perEvent(t.wall * 1e3)} | | | |`);
      }
      const tag = shape.replace('-', '');
      const [l, a] = [await bytes(`log_${tag}`), await bytes(`attempts_${tag}`)];
      console.log(`| **${shape}** (${lines.length} commands) | ${perEvent(sum.ferret * 1e6)} | ${perEvent(sum.pg * 1e6)} | ${perEvent(sum.wall * 1e3)} | ${perEvent(l.text + a.text)} | ${perEvent(l.stored + a.stored)} | ${perEvent(l.total + a.total)} |`);
      for (const line of lines) console.log(line);
    }
    await inDb.end();
  } finally {
    await client.close().catch(() => undefined);
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const drop = new Client({ connectionString: `${PG}/postgres` });
    await drop.connect();
    await drop.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await drop.end();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
