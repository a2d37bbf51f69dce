import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findFreePort, waitForPort } from '../../../libs/dev-services/src';
import { isProject, type Target } from '../lib/report';
import { pinnedCommand } from '../lib/pin';
import type { Services } from '../services';

/** The repository root, found from here whether running compiled (bench/out/...) or from source. */
function findRepoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'nest-cli.json'))) return dir;
    dir = resolve(dir, '..');
  }
  return process.cwd();
}

export const REPO_ROOT = findRepoRoot();
export const OUT_DIR = join(REPO_ROOT, 'bench', 'out');
/** The harness's own build of the project (`--build`), so it never rewrites the dist/ others use. */
export const PROJECT_BUILD_DIR = join(OUT_DIR, 'project');
const MAIN_IN = (dir: string) => join(dir, 'apps', 'all-in-one', 'src', 'main.js');

/** The project's all-in-one entry: the harness's build when there is one, else `npm run build`'s dist/. */
export function projectMain(): string {
  const own = MAIN_IN(PROJECT_BUILD_DIR);
  return existsSync(own) ? own : MAIN_IN(join(REPO_ROOT, 'dist'));
}
const BASELINE_MAIN = join(__dirname, 'baseline-server.js');

export interface RunningTarget {
  target: Target;
  url: string;
  pid: number;
  /** Set for the project: what the harness needs to provision tenants. */
  admin?: { email: string; password: string };
  logFile: string;
  /** The database the target writes to (on `services.mongoUri`). */
  dbName: string;
  /** With `profileWindow`: the server's inspector port (see WindowProfiler). */
  inspectPort?: number;
  exited(): boolean;
  stop(): Promise<void>;
}

export interface LaunchOptions {
  services: Services;
  /** Core the server is pinned to (null: unpinned). */
  core: number | null;
  runId: string;
  cpuProf: boolean;
  /** Start the server with the inspector on loopback, so the harness can profile the measured window (`--cpu-prof-window`). */
  profileWindow?: boolean;
  /** Node/V8 flags before the entry script, for every target alike (`--node-options`). */
  nodeOptions?: string[];
  /** The node binary the server runs on (`--node`); the harness's own when absent. */
  node?: string | null;
  /** Extra environment for the project server (e.g. raised rate limits for the bench tenant). */
  serverEnv: Record<string, string>;
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number, path: string, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode} before it was ready; log tail:\n${tail(logFile)}`);
    try {
      const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server not ready on ${url}${path} within ${timeoutMs} ms; log tail:\n${tail(logFile)}`);
}

/** The direct children of a process (Linux /proc), e.g. the all-in-one's delivery worker. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Starts the server under test on loopback, pinned to its core, and waits until it answers. */
export async function startTarget(target: Target, opts: LaunchOptions): Promise<RunningTarget> {
  mkdirSync(join(OUT_DIR, 'logs'), { recursive: true });
  const profDir = join(OUT_DIR, 'profiles');
  if (opts.cpuProf) mkdirSync(profDir, { recursive: true });
  const port = await findFreePort();
  const logFile = join(OUT_DIR, 'logs', `${opts.runId}-${target.replace('+', '')}.log`);
  const logFd = openSync(logFile, 'a');
  const nodeArgs = [...(opts.nodeOptions ?? [])];
  if (opts.cpuProf) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${opts.runId}-${target.replace('+', '')}.cpuprofile`);
  const inspectPort = opts.profileWindow ? await findFreePort() : undefined;
  if (inspectPort) {
    mkdirSync(profDir, { recursive: true });
    nodeArgs.push(`--inspect=127.0.0.1:${inspectPort}`);
  }
  const dbName = `bench_${opts.runId}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 63);
  let env: NodeJS.ProcessEnv;
  let main: string;
  let admin: RunningTarget['admin'];
  if (isProject(target)) {
    main = projectMain();
    if (!existsSync(main)) throw new Error(`${main} not found: run npm run build first (or pass --build)`);
    admin = { email: 'bench-admin@example.com', password: randomBytes(12).toString('hex') };
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      MONGODB_URI: opts.services.mongoUri,
      MONGODB_DB: dbName,
      REDIS_URL: opts.services.redisUrl,
      REDIS_KEY_PREFIX: `b${opts.runId.slice(-20)}:`,
      ADMIN_JWT_SECRET: randomBytes(32).toString('hex'),
      APP_SECRET_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      ADMIN_BOOTSTRAP_EMAIL: admin.email,
      ADMIN_BOOTSTRAP_PASSWORD: admin.password,
      // Never contacted by the scenarios; production mode starts no embedded S3.
      S3_ENDPOINT: 'http://127.0.0.1:9',
      DATA_DIR: join(opts.services.dataDir, `data-${opts.runId}`),
      ...opts.serverEnv,
    };
  } else {
    main = BASELINE_MAIN;
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      BENCH_MODE: target === 'noop' ? 'noop' : target === 'B' ? 'relay' : 'db',
      REDIS_URL: opts.services.redisUrl,
      REDIS_PREFIX: `b${opts.runId.slice(-20)}:`,
      MONGODB_URI: opts.services.mongoUri,
      MONGODB_DB: dbName,
    };
  }
  // The promise census preload (lib/promise-census.js, given with --node-options --require) reads these.
  for (const k of ['PROMISE_CENSUS_DIR', 'PROMISE_CENSUS_EVERY']) if (process.env[k]) env[k] = process.env[k];
  const { cmd, args } = pinnedCommand(opts.core, opts.node ?? process.execPath, [...nodeArgs, main]);
  const child = spawn(cmd, args, { stdio: ['ignore', logFd, logFd], env, cwd: REPO_ROOT });
  const url = `http://127.0.0.1:${port}`;
  try {
    if (isProject(target)) await waitReady(url, child, 90_000, '/health/ready', logFile);
    else await waitForPort(port, '127.0.0.1', 20_000, () => child.exitCode === null);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    target,
    url,
    pid: child.pid!,
    admin,
    logFile,
    dbName,
    inspectPort,
    exited: () => child.exitCode !== null,
    stop: () =>
      new Promise<void>((res) => {
        if (child.exitCode !== null) return res();
        child.once('exit', () => res());
        child.kill('SIGTERM');
        // A graceful stop lets --cpu-prof write its profile (the project drains its write queue first); a stuck server is killed.
        setTimeout(() => child.kill('SIGKILL'), opts.cpuProf ? 90_000 : 20_000).unref();
      }),
  };
}
