/** What a bench run records about the machine and the build it measured (RESULTS.md headers). */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { relative } from 'node:path';
import { isProject } from './lib/report';
import { allowedCpus } from './lib/pin';
import type { Options } from './options';
import { projectMain, REPO_ROOT } from './servers/launch';

/** With pinning: the server alone on one core, everything else on the other. */
export const SERVER_CORE = 0;
export const GENERATOR_CORE = 1;

export interface Machine {
  date: string;
  cores: number;
  cpuModel: string;
  memGiB: number;
  /** The harness's node (the generator's, the client side). */
  node: string;
  /** What the servers run on: `--node`, else the harness's own. */
  serverNode: string;
  commit: string;
  loadAvg: number[];
  pinning: string;
  /** Which build of the project was measured (path and build time). */
  projectBuild: string | null;
}

function describeBuild(): string {
  const main = projectMain();
  try {
    return `${relative(REPO_ROOT, main)} (built ${statSync(main).mtime.toISOString()})`;
  } catch {
    return `${relative(REPO_ROOT, main)} (missing)`;
  }
}

/** The servers' node for the report: its version and which binary (`--node`, else the harness's). */
export function serverNode(path: string | null): string {
  if (!path) return `${process.version} (the harness's own node)`;
  return `${execFileSync(path, ['--version']).toString().trim()} (${path})`;
}

export function machineInfo(o: Options): Machine {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT }).toString().trim();
  } catch {
    /* not a checkout */
  }
  return {
    date: new Date().toISOString(),
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    serverNode: serverNode(o.node),
    commit,
    loadAvg: loadavg().map((x) => Math.round(x * 100) / 100),
    projectBuild: o.targets.some(isProject) ? describeBuild() : null,
    pinning: o.pin ? `server on core ${SERVER_CORE}; generator, Redis, FerretDB, harness on core ${GENERATOR_CORE} (harness allowed: ${allowedCpus()})` : 'none (--no-pin)',
  };
}

