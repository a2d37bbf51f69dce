/**
 * A preload (`node --require`) that counts the promises a process creates and samples where they are
 * created, for the send path's promise budget (issue 16: on Node 20, once an AsyncLocalStorage is in
 * use, every promise runs async_hooks' init/before/after). Start a bench's servers with it through
 * the bench's `--node-options` (see bench/README.md):
 *
 *   PROMISE_CENSUS_DIR=/tmp/census node bench/out/bench/src/cli.js direct ... \
 *     --node-options "--require=$PWD/bench/out/bench/src/lib/promise-census.js"
 *
 * Each server appends one JSON line a second to `$PROMISE_CENSUS_DIR/<pid>.jsonl`: the time, the
 * promises created so far, the other async resources, and the cumulative sample counts (every
 * `PROMISE_CENSUS_EVERY`th promise's creation stack, classified). Differences between two lines give a
 * window's promises; `bench/src/promise-census-report.ts` turns a file into per-message tables.
 * The hook itself enables the promise hooks, so a counted run's CPU is not a measurement.
 */
import { createHook } from 'node:async_hooks';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.PROMISE_CENSUS_DIR ?? '/tmp/promise-census';
const every = Math.max(1, Number(process.env.PROMISE_CENSUS_EVERY ?? 50));
const file = join(dir, `${process.pid}.jsonl`);
mkdirSync(dir, { recursive: true });

let promises = 0;
let others = 0;
const samples = new Map<string, number>();
const holder: { stack?: string } = {};

/** `at fn (file:line:col)` or `at file:line:col` → [function, file]. */
function frameOf(line: string): [string, string] | null {
  const m = /^\s*at (?:async )?(?:(.*?) \()?(.*?):\d+:\d+\)?$/.exec(line);
  return m ? [m[1] ?? '<anonymous>', m[2]] : null;
}

/** Where a file belongs: a package under node_modules, the project (its path under the build), node. */
function ownerOf(path: string): string {
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (path.startsWith('node:') || !path.startsWith('/')) return 'node';
  const at = path.search(/\/(apps|libs)\//);
  return at >= 0 ? 'project' : path.includes('/bench/') ? 'bench' : 'other';
}

function short(path: string): string {
  const at = path.search(/\/(apps|libs)\//);
  return at >= 0 ? path.slice(at + 1).replace(/\.js$/, '') : path.slice(path.lastIndexOf('/') + 1);
}

/** Key: the creating frame's owner and function, and the nearest project frame (who asked for it). */
function sample(): void {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  Error.captureStackTrace(holder, sample);
  Error.stackTraceLimit = limit;
  const lines = (holder.stack ?? '').split('\n').slice(1);
  let creator: string | null = null;
  let caller = '-';
  for (const line of lines) {
    const f = frameOf(line);
    if (!f || f[1].includes('promise-census') || f[1].startsWith('node:internal/async_hooks')) continue;
    const owner = ownerOf(f[1]);
    if (!creator) {
      creator = owner === 'project' ? `project\t${short(f[1])}:${f[0]}` : `${owner}\t${f[0]}`;
      if (owner === 'project') break;
      continue;
    }
    if (owner === 'project') {
      caller = `${short(f[1])}:${f[0]}`;
      break;
    }
  }
  const key = `${creator ?? 'none\t<no frames>'}\t${caller}`;
  samples.set(key, (samples.get(key) ?? 0) + 1);
}

createHook({
  init(_id, type) {
    if (type !== 'PROMISE') {
      others++;
      return;
    }
    if (++promises % every === 0) sample();
  },
}).enable();

function flush(): void {
  const line = JSON.stringify({ t: Date.now(), promises, others, every, samples: Object.fromEntries(samples) });
  appendFileSync(file, `${line}\n`);
}
setInterval(flush, 1000).unref();
process.on('exit', flush);
