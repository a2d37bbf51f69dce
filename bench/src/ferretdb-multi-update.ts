/**
 * `node test/support/run-ts.js bench/src/ferretdb-multi-update.ts [conversations] [updates]`: what one
 * `update` command with many statements costs FerretDB on PostgreSQL against the same statements sent
 * one command each, for the conversation `last_message` write (LastMessageWriter): filter
 * `{_id, tenant_id, $or: [last_message null, last_message.seq < s]}`, `$set` last_message, `$max`
 * updated_at and last_seq, on documents with 50 participants. Reports FerretDB's CPU (from /proc) and
 * this process's CPU per statement, and the wall time per statement, for statements per command 1 (sent
 * 8 at a time, as the writer used to), 4, 16 and 64. Binary: FERRETDB_BIN (default: the cached
 * `-idfix2` build). PostgreSQL from POSTGRES_URL (default postgres://postgres@127.0.0.1:5432); a
 * scratch database `multiprobe` is made and dropped.
 */
import { readFileSync } from 'node:fs';
import { MongoClient, ObjectId, type AnyBulkWriteOperation } from 'mongodb';
import { FERRETDB_VERSION, waitForPort } from '@chat/dev-services';
import { freshProbeDatabase, PROBE_PG as PG, probeFerretDbBin, spawnProbeFerretDb } from './lib/probe-ferretdb';

const TENANT = '0123456789abcdef01234567';

/** CPU seconds (user + system) of a process, from /proc/<pid>/stat. */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Conv {
  _id: ObjectId;
  tenant_id: string;
  last_message: { seq: number } | null;
  last_seq: number;
  updated_at: Date;
}

async function main(): Promise<void> {
  const conversations = Number(process.argv[2] ?? 2000);
  const updates = Number(process.argv[3] ?? 1024);
  const admin = await freshProbeDatabase('multiprobe');
  const { port, child } = await spawnProbeFerretDb(probeFerretDbBin(), `${PG}/multiprobe`);
  const client = new MongoClient(`mongodb://127.0.0.1:${port}/`, { maxPoolSize: 16 });
  try {
    await waitForPort(port);
    await client.connect();
    const col = client.db('probe').collection<Conv>('conversations');
    const ids: ObjectId[] = [];
    for (let done = 0; done < conversations; done += 500) {
      const docs = Array.from({ length: Math.min(500, conversations - done) }, () => ({
        _id: new ObjectId(),
        tenant_id: TENANT,
        participants: Array.from({ length: 50 }, (_, i) => ({ user_id: `user-${i}`, role: 'member', joined_at: new Date(), last_read_seq: 0, last_delivered_seq: 0 })),
        last_message: null,
        last_seq: 0,
        updated_at: new Date(0),
      }));
      ids.push(...docs.map((d) => d._id));
      await col.insertMany(docs);
    }
    let seq = 0;
    const statement = (i: number): AnyBulkWriteOperation<Conv> => {
      const s = ++seq;
      const last = { content_preview: 'x'.repeat(120), sender_id: 'user-1', sent_at: new Date(), seq: s, message_id: new ObjectId().toHexString() };
      return {
        updateOne: {
          filter: { _id: ids[(i * 7919) % ids.length]!, tenant_id: TENANT, $or: [{ last_message: null }, { 'last_message.seq': { $lt: s } }] },
          update: { $set: { last_message: last }, $max: { updated_at: last.sent_at, last_seq: s } },
        },
      };
    };
    console.log(`FerretDB ${FERRETDB_VERSION} on PostgreSQL, ${conversations} conversations of 50 participants, ${updates} last_message updates per row`);
    console.log('| statements per command | commands | FerretDB CPU µs/stmt | client CPU µs/stmt | wall µs/stmt |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const per of (process.env.PER ?? "1,4,16,32").split(",").map(Number)) {
      const commands = Math.ceil(updates / per);
      const f0 = cpuOf(child.pid!);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      let next = 0;
      let matched = 0;
      // Single statements go 8 at a time (the writer's old maxInFlight); batches one after another (one flush at a time).
      const lanes = per === 1 ? Number(process.env.LANES ?? 8) : 1;
      await Promise.all(
        Array.from({ length: lanes }, async () => {
          while (next < commands) {
            const c = next++;
            const ops = Array.from({ length: per }, (_, k) => statement(c * per + k));
            const res = await col.bulkWrite(ops, { ordered: false });
            matched += res.matchedCount;
          }
        }),
      );
      const wall = performance.now() - t0;
      const c = process.cpuUsage(c0);
      const f = cpuOf(child.pid!) - f0;
      const n = commands * per;
      if (matched !== n) throw new Error(`${per} per command: ${matched} of ${n} statements matched`);
      console.log(`| ${per} | ${commands} | ${((f * 1e6) / n).toFixed(0)} | ${((c.user + c.system) / n).toFixed(0)} | ${((wall * 1000) / n).toFixed(0)} |`);
    }
  } finally {
    await client.close().catch(() => undefined);
    child.kill();
    await new Promise((r) => child.once('exit', r));
    await admin.query('DROP DATABASE IF EXISTS multiprobe WITH (FORCE)');
    await admin.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
