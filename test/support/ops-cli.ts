/* The set-up the management CLI suites share (test/ops-cli*.e2e-spec.ts): real processes
 * (`node apps/cli/bin/chat-cli.js`, what `npm run cli` runs) against a database of their own on the test
 * FerretDB, a temporary directory, and a driver connection to look at what the CLI did. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { mongo } from 'mongoose';
import { TEST_PLATFORM_ENV } from './factories';

const run = promisify(execFile);
const CLI = join(__dirname, '..', '..', 'apps', 'cli', 'bin', 'chat-cli.js');

export interface OpsCliSuite {
  dbName: string;
  /** Where the runbook drill restores beside the live database (dropped after the suite too). */
  drillDb: string;
  dir: string;
  /** The driver connects on its first operation (inside a test), and is closed after the suite. */
  client: mongo.MongoClient;
  db: mongo.Db;
  /** A run with --json; throws on failure unless `expectFail` (then the streams of the failed run). */
  cli(args: string[], opts?: { expectFail?: boolean; env?: Record<string, string> }): Promise<{ stdout: string; stderr: string; json: any }>;
  /** One run with its exit code and both streams, whatever the outcome. `unset` removes variables of this run's environment. */
  cliRaw(args: string[], opts?: { env?: Record<string, string>; unset?: string[] }): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Registers the suite's clean-up (drop its databases, close the connection, remove the directory); returns its handles. */
export function opsCliSuite(): OpsCliSuite {
  const dbName = `ops_cli_${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'ops-cli-'));
  const client = new mongo.MongoClient(process.env.MONGODB_URI!);
  const envOf = (env: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...process.env, ...TEST_PLATFORM_ENV, MONGODB_DB: dbName, LOG_LEVEL: 'warn', DATA_DIR: join(dir, 'data'), ...env });
  const suite = {
    dbName,
    drillDb: `${dbName}_drill`,
    dir,
    client,
    db: client.db(dbName),
    async cli(args, opts = {}) {
      try {
        const { stdout, stderr } = await run(process.execPath, [CLI, '--json', ...args], { env: envOf(opts.env), maxBuffer: 32 * 1024 * 1024, timeout: 120_000 });
        if (opts.expectFail) throw new Error(`expected failure of ${args.join(' ')}`);
        return { stdout, stderr, json: stdout.trim() ? JSON.parse(stdout) : null };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        if (opts.expectFail && typeof e.code === 'number') return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', json: null };
        throw new Error(`cli ${args.join(' ')} failed: ${e.stderr ?? err}`);
      }
    },
    async cliRaw(args, opts = {}) {
      const env = envOf(opts.env);
      for (const k of opts.unset ?? []) delete env[k];
      try {
        const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env, maxBuffer: 32 * 1024 * 1024, timeout: 120_000 });
        return { code: 0, stdout, stderr };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        if (typeof e.code !== 'number') throw err;
        return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
      }
    },
  } as OpsCliSuite;
  afterAll(async () => {
    await suite.db.dropDatabase().catch(() => undefined);
    await client.db(suite.drillDb).dropDatabase().catch(() => undefined);
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return suite;
}

/** With --json a failure is the one error shape, as the last line of stderr. */
export function jsonError(stderr: string): { error: { code: string; message: string; details?: unknown } } {
  const lines = stderr.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}
