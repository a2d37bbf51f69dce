/**
 * Entry point: `npm run -s bench -- <scenario> [options]` (see bench/README.md). Pins itself to the
 * generator's core first, so every process it starts (generator, Redis, FerretDB) inherits it; the
 * server under test gets the other core.
 */
import { cpus } from 'node:os';
import { execFileSync } from 'node:child_process';
import { installInterruptHandlers } from './lib/cleanup';
import { hasTaskset, pinProcess } from './lib/pin';
import { parseArgs } from './options';
import { isProject } from './lib/report';
import { relative } from 'node:path';
import { PROJECT_BUILD_DIR, REPO_ROOT } from './servers/launch';
import { runScenario } from './run';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let o;
  try {
    o = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\nusage: npm run -s bench -- <calibrate|direct|group|idle|history> [--targets B,B+db,project] [--rounds N] [--rate N] [--duration 10s] ... (bench/README.md)\n`);
    return 2;
  }
  if (o.pin) {
    if (!hasTaskset()) {
      process.stderr.write('taskset (util-linux) not found: install it or pass --no-pin\n');
      return 2;
    }
    if (cpus().length < 2) {
      process.stderr.write('fewer than 2 cores: running unpinned\n');
      o.pin = false;
    } else pinProcess(process.pid, 1);
  }
  if (o.build && o.targets.some(isProject)) {
    // The same compile as `npm run build`, into bench/out/project.
    const outDir = relative(REPO_ROOT, PROJECT_BUILD_DIR);
    process.stderr.write(`building the project into ${outDir}\n`);
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: REPO_ROOT, stdio: 'inherit' });
    execFileSync('npx', ['tsc-alias', '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: REPO_ROOT, stdio: 'inherit' });
  }
  installInterruptHandlers();
  return runScenario(o, argv);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
