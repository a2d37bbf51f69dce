/**
 * `node test/support/run-ts.js bench/src/ferretdb-id-lookup.ts [documents] [lookups]`: time per `findOne` and
 * `updateOne` by `_id` on FerretDB's PostgreSQL backend, built untouched (`ferretdb-<version>` from
 * `FERRETDB_ID_INDEX_FIX=0 npm run services:install`, or an older `-idfix` build, whose PostgreSQL side is untouched) against the project's build with the `_id` fixes
 * (scripts/install-ferretdb.sh), same documents, run back to back. Binaries: FERRETDB_BIN_A / FERRETDB_BIN_B
 * (defaults: the two cached builds). PostgreSQL from POSTGRES_URL (default postgres://postgres@127.0.0.1:5432);
 * a scratch database `idprobe` is made and dropped.
 */
import { existsSync } from 'node:fs';
import { MongoClient, ObjectId } from 'mongodb';
import { Client } from 'pg';
import { chatCacheDir, FERRETDB_VERSION, waitForPort } from '@chat/dev-services';
import { spawnProbeFerretDb } from './lib/probe-ferretdb';

const PG = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

async function scratchDb(fn: (url: string) => Promise<void>): Promise<void> {
  const admin = new Client({ connectionString: `${PG}/postgres` });
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS idprobe');
  await admin.query('CREATE DATABASE idprobe');
  try {
    await fn(`${PG}/idprobe`);
  } finally {
    await admin.query('DROP DATABASE IF EXISTS idprobe WITH (FORCE)');
    await admin.end();
  }
}

async function measure(bin: string, documents: number, lookups: number): Promise<{ find: number; update: number }> {
  let out = { find: 0, update: 0 };
  await scratchDb(async (pgUrl) => {
    const { port, child } = await spawnProbeFerretDb(bin, pgUrl);
    const client = new MongoClient(`mongodb://127.0.0.1:${port}/`);
    try {
      await waitForPort(port);
      await client.connect();
      const col = client.db('probe').collection<{ _id: ObjectId; n: number; s: string }>('docs');
      const ids: ObjectId[] = [];
      for (let done = 0; done < documents; done += 2000) {
        const docs = Array.from({ length: Math.min(2000, documents - done) }, (_, i) => ({ _id: new ObjectId(), n: done + i, s: 'x'.repeat(100) }));
        ids.push(...docs.map((d) => d._id));
        await col.insertMany(docs);
      }
      const t0 = performance.now();
      for (let i = 0; i < lookups; i++) {
        const id = ids[(i * 7919) % ids.length]!;
        if (!(await col.findOne({ _id: id }))?._id.equals(id)) throw new Error('findOne by _id missed a stored document');
      }
      const t1 = performance.now();
      for (let i = 0; i < lookups; i++) {
        if ((await col.updateOne({ _id: ids[(i * 104729) % ids.length]! }, { $inc: { n: 1 } })).modifiedCount !== 1) throw new Error('updateOne by _id missed');
      }
      const t2 = performance.now();
      out = { find: (t1 - t0) / lookups, update: (t2 - t1) / lookups };
    } finally {
      await client.close().catch(() => undefined);
      child.kill();
    }
  });
  return out;
}

async function main(): Promise<void> {
  const documents = Number(process.argv[2] ?? 50_000);
  const lookups = Number(process.argv[3] ?? 200);
  const bin = (suffix: string) => `${chatCacheDir()}/bin/ferretdb-${FERRETDB_VERSION}${suffix}`;
  const builds = [
    // The earlier `-idfix` build has only the SQLite fix: its PostgreSQL backend is the untouched one.
    ['untouched PostgreSQL backend', process.env.FERRETDB_BIN_A ?? (existsSync(bin('-idfix')) ? bin('-idfix') : bin(''))],
    ['with the _id fixes', process.env.FERRETDB_BIN_B ?? bin('-idfix2')],
  ] as const;
  console.log(`FerretDB on PostgreSQL, ${documents} documents, ${lookups} look-ups each, ms per call`);
  for (const [name, path] of builds) {
    if (!existsSync(path)) {
      console.log(`${name}: ${path} is not built (skipped)`);
      continue;
    }
    const r = await measure(path, documents, lookups);
    console.log(`${name}: findOne by _id ${r.find.toFixed(2)}, updateOne by _id ${r.update.toFixed(2)}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
