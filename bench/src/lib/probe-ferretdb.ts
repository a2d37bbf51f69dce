/**
 * What the FerretDB probe scripts (bench/src/ferretdb-*.ts, mongoose-write-cpu.ts) share: a scratch
 * PostgreSQL database of their own and FerretDB's PostgreSQL handler on it, on a free loopback port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Client } from 'pg';
import { ferretDbBinaryPath, findFreePort } from '@chat/dev-services';

export const PROBE_PG = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

/** FERRETDB_BIN, else the build scripts/install-ferretdb.sh caches (the one the app and the tests start). */
export function probeFerretDbBin(): string {
  return ferretDbBinaryPath();
}

/** Drops and creates database `name`; returns the admin connection (to `postgres`), open, for the caller to drop it with and end. */
export async function freshProbeDatabase(name: string): Promise<Client> {
  const admin = new Client({ connectionString: `${PROBE_PG}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  return admin;
}

/** Starts FerretDB (PostgreSQL handler, `pgUrl`) on a free loopback port; the caller waits for the port and kills the child. */
export async function spawnProbeFerretDb(bin: string, pgUrl: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await findFreePort();
  const args = ['--handler=postgresql', `--postgresql-url=${pgUrl}`, `--listen-addr=127.0.0.1:${port}`, '--debug-addr=-', '--telemetry=disable', '--log-level=error'];
  return { port, child: spawn(bin, args, { stdio: 'ignore' }) };
}
