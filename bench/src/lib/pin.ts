import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** True when util-linux's taskset is installed. */
export function hasTaskset(): boolean {
  return spawnSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' }).status === 0;
}

/** The CPUs this process may run on, as the kernel lists them (e.g. "0-1"). */
export function allowedCpus(pid: number | 'self' = 'self'): string {
  try {
    const m = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ?? '?';
  } catch {
    return '?';
  }
}

/** Pins every thread of a running process (and so the children it starts later) to one core. */
export function pinProcess(pid: number, core: number): void {
  execFileSync('taskset', ['-a', '-cp', String(core), String(pid)], { stdio: 'ignore' });
}

/** The command line that runs `cmd args` on one core (or unpinned when core is null). */
export function pinnedCommand(core: number | null, cmd: string, args: string[]): { cmd: string; args: string[] } {
  return core === null ? { cmd, args } : { cmd: 'taskset', args: ['-c', String(core), cmd, ...args] };
}
