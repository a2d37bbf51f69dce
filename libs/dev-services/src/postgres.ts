import { Client } from 'pg';
import { isPortOpen } from './ports';

/** Where the embedded FerretDB looks for PostgreSQL when FERRETDB_POSTGRESQL_URL is unset. */
export const LOCAL_POSTGRESQL_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Database names we create are plain identifiers, so quoting them is enough (no user input). */
const SAFE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function assertName(name: string): void {
  if (!SAFE_NAME.test(name)) throw new Error(`not a safe PostgreSQL database name: ${name}`);
}

/** The same server URL pointing at another database. */
export function postgresDatabaseUrl(serverUrl: string, database: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>, connectTimeoutMs = 3000): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The PostgreSQL server the embedded FerretDB should store its data in, or null for SQLite:
 * FERRETDB_POSTGRESQL_URL if set (`none` forces SQLite; a set URL that does not answer is an error),
 * else 127.0.0.1:5432 as user postgres if it answers and lets us in. The URL's database is only used
 * to connect; FerretDB gets a database of its own (see createPostgresDatabase).
 */
export async function findPostgres(env: NodeJS.ProcessEnv, log: (l: string) => void): Promise<string | null> {
  const configured = env.FERRETDB_POSTGRESQL_URL;
  if (configured === 'none') return null;
  const url = configured || LOCAL_POSTGRESQL_URL;
  if (!configured && !(await isPortOpen(5432))) return null;
  try {
    await withClient(url, (c) => c.query('SELECT 1'));
    return url;
  } catch (err) {
    const why = `PostgreSQL at ${redact(url)} refused us: ${(err as Error).message}`;
    if (configured) throw new Error(`FERRETDB_POSTGRESQL_URL: ${why}`);
    log(`${why}; FerretDB keeps its data in SQLite instead (set FERRETDB_POSTGRESQL_URL to use another server)`);
    return null;
  }
}

/** Creates `name` on the server unless it exists; returns the URL of that database. */
export async function createPostgresDatabase(serverUrl: string, name: string): Promise<string> {
  assertName(name);
  await withClient(serverUrl, async (c) => {
    try {
      await c.query(`CREATE DATABASE "${name}"`);
    } catch (err) {
      // 42P04 duplicate_database: a restart of the same data directory.
      if ((err as { code?: string }).code !== '42P04') throw err;
    }
  });
  return postgresDatabaseUrl(serverUrl, name);
}

/** Drops `name` (closing whatever is still connected to it); quiet when it is already gone. */
export async function dropPostgresDatabase(serverUrl: string, name: string): Promise<void> {
  assertName(name);
  await withClient(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

export function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/**
 * Drops the databases of test runs on this machine whose process is gone (a run killed before its
 * teardown): names `chat_test_[2p_]<pid>_<random>`. Runs still going (other checkouts) are left alone.
 */
export async function dropStaleTestDatabases(serverUrl: string): Promise<string[]> {
  const rows = await withClient(serverUrl, (c) => c.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'chat\\_test\\_%'`));
  const stale = rows.rows.map((r) => r.datname).filter((name) => {
    const pid = /^chat_test_(?:2p_)?(\d+)_[0-9a-f]+$/.exec(name)?.[1];
    return pid !== undefined && !pidAlive(Number(pid));
  });
  for (const name of stale) await dropPostgresDatabase(serverUrl, name).catch(() => undefined);
  return stale;
}
