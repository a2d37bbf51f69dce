/* The all-in-one entry (what `npm start` runs) as its own OS process, straight from the TypeScript
 * sources (test/support/run-ts.js): for what only a real process shows (exit codes, stderr, signals,
 * nothing shared in memory with the test). */
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export interface AppProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once the process ends. */
  exited: Promise<number | null>;
}

export function spawnAllInOne(env: Record<string, string>): AppProcess {
  return spawnApp('apps/all-in-one/src/main.ts', env);
}

/** Any app's entry (e.g. `apps/admin/src/main.ts`: the admin app alone) as its own OS process. */
export function spawnApp(entry: string, env: Record<string, string>): AppProcess {
  const child = spawn(process.execPath, [join(__dirname, 'run-ts.js'), entry], {
    cwd: join(__dirname, '..', '..'),
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}
