/**
 * `node bench/out/bench/src/profile-subsystems.js <window.cpuprofile> <messages in window> [--frames SUBSYSTEM] [--incl REGEX]`
 *
 * Splits a (window) CPU profile's busy time into subsystems so the project and B+db can be compared per
 * message. Each profile node goes to exactly one subsystem (the rows sum to the busy time): the innermost
 * frame of its stack that belongs to a known owner wins, so a library's row includes the Node internals and
 * system calls it made (ioredis -> net -> writev is Redis) but not the project callbacks it invoked
 * (socket.io -> the gateway's handler is the gateway). Frames of no known owner (node:internal streams,
 * timers, `debug` calls) are passed through to their caller. async_hooks frames count only as the leaf
 * (their own hook work): `callbackTrampoline` and `AsyncLocalStorage.run` sit at the root of every native
 * callback and every tenant-scoped event, and counting what they call would be counting everything.
 * `--frames X` prints the top leaf functions inside subsystem X (to check what a row holds); `--incl REGEX`
 * also prints the inclusive time of the nodes with a frame whose "function url" matches REGEX.
 */
import { readFileSync } from 'node:fs';
import { selfMicros, type CpuProfile } from './lib/cpuprofile';

type Frame = CpuProfile['nodes'][number]['callFrame'];

// Order matters only within one frame (the first rule that matches the frame names it).
const RULES: Array<[string, (f: Frame, leaf: boolean) => boolean]> = [
  ['GC', (f) => f.functionName === '(garbage collector)'],
  ['ALS hooks (async_hooks, leaf only)', (f, leaf) => leaf && /^node:(internal\/)?async_hooks$/.test(f.url)],
  ['metrics (prom-client, libs/metrics)', (f) => /node_modules\/prom-client\/|\/libs\/metrics\//.test(f.url)],
  ['logging (pino, libs/logging)', (f) => /node_modules\/(pino|pino-std-serializers|sonic-boom|thread-stream)\/|\/libs\/logging\//.test(f.url)],
  [
    'Mongo command monitoring (driver events + DbCommandMonitor)',
    (f) => /mongodb\/lib\/cmap\/command_monitoring_events\.js|\/libs\/database\/src\/db-command-monitor/.test(f.url),
  ],
  ['Mongo driver + BSON (+ mongoose)', (f) => /node_modules\/(mongodb|bson|mongoose|kareem|mpath|mquery|sift)\//.test(f.url)],
  [
    'Redis (ioredis, libs/redis)',
    (f) => /node_modules\/(ioredis|redis-parser|redis-errors|standard-as-callback|cluster-key-slot|denque)\/|\/libs\/redis\//.test(f.url),
  ],
  ['redis-adapter fan-out (adapter, notepack)', (f) => /node_modules\/(@socket\.io\/redis-adapter|socket\.io-adapter|notepack\.io)\//.test(f.url)],
  [
    'socket.io / engine.io / ws',
    (f) => /node_modules\/(socket\.io|engine\.io|ws|socket\.io-parser|engine\.io-parser|@socket\.io\/component-emitter|base64id)\//.test(f.url),
  ],
  [
    'DTO validation (class-validator, validator, libs/errors validation)',
    (f) =>
      /node_modules\/(class-validator|validator|class-transformer|libphonenumber-js)\/|\/libs\/errors\/src\/(validation|instance-fast-path|bounded-input|json-byte-length)/.test(
        f.url,
      ),
  ],
  ['tenant context (libs/tenancy)', (f) => /\/libs\/tenancy\//.test(f.url)],
  ['handshake / auth (libs/auth)', (f) => /\/libs\/auth\//.test(f.url)],
  ['gateway (apps/gateway, Nest, rxjs)', (f) => /\/apps\/gateway\/|node_modules\/(@nestjs|rxjs|reflect-metadata)\//.test(f.url)],
  ['realtime (libs/realtime: charges, presence)', (f) => /\/libs\/realtime\//.test(f.url)],
  ['cache (libs/cache)', (f) => /\/libs\/cache\//.test(f.url)],
  ['send path (libs/chat)', (f) => /\/libs\/chat\//.test(f.url)],
  ['webhooks recording (libs/webhooks)', (f) => /\/libs\/webhooks\//.test(f.url)],
  ['database layer (libs/database)', (f) => /\/libs\/database\//.test(f.url)],
  ['other project libs', (f) => /\/bench\/out\/project[^/]*\/(libs|apps)\//.test(f.url)],
  ['B+db server code', (f) => /baseline-server|\/bench\/out\/bench\/src\/servers\//.test(f.url)],
];

const args = process.argv.slice(2);
const [file, messagesArg] = args;
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const framesOf = option('--frames');
const inclArg = option('--incl');
const inclRe = inclArg ? new RegExp(inclArg) : null;
if (!file || !messagesArg) {
  process.stderr.write('usage: node bench/out/bench/src/profile-subsystems.js <file.cpuprofile> <messages> [--frames X] [--incl REGEX]\n');
  process.exit(2);
}
const messages = Number(messagesArg);
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile & { nodes: Array<{ children?: number[] }> };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** The subsystem of a profile node: the innermost frame of its stack with a known owner. */
function subsystemOf(id: number): string {
  const leaf = byId.get(id)!.callFrame;
  if (leaf.functionName === '(idle)') return 'idle';
  if (leaf.functionName === '(program)') return '(program): V8/native outside JS';
  for (let cur: number | undefined = id, first = true; cur !== undefined; cur = parent.get(cur), first = false) {
    const f = byId.get(cur)!.callFrame;
    const rule = RULES.find(([, test]) => test(f, first));
    if (rule) return rule[0];
  }
  return 'Node internals, no owner (event loop, stream reads)';
}

/** Whether a frame of the node's stack matches --incl. */
function matchesIncl(id: number): boolean {
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const f = byId.get(cur)!.callFrame;
    if (inclRe!.test(`${f.functionName} ${f.url}`)) return true;
  }
  return false;
}

const ms = new Map<string, number>();
const leafMs = new Map<string, number>();
let busy = 0;
let inclMs = 0;
for (const [id, us] of selfMicros(profile)) {
  const dt = us / 1000;
  const o = subsystemOf(id);
  ms.set(o, (ms.get(o) ?? 0) + dt);
  if (o === 'idle') continue;
  busy += dt;
  if (inclRe && matchesIncl(id)) inclMs += dt;
  if (framesOf && o.startsWith(framesOf)) {
    const f = byId.get(id)!.callFrame;
    const k = `${f.functionName || '(anonymous)'} ${f.url.replace(/.*node_modules\//, '').replace(/.*bench\/out\/project\//, '')}:${f.lineNumber}`;
    leafMs.set(k, (leafMs.get(k) ?? 0) + dt);
  }
}

const windowS = (profile.endTime - profile.startTime) / 1e6;
const out: string[] = [`window ${windowS.toFixed(2)} s, busy ${busy.toFixed(0)} ms, ${messages} messages: ${((busy * 1000) / messages).toFixed(0)} µs/msg busy`, ''];
out.push('| subsystem | ms | µs/msg | % of busy |', '| --- | --- | --- | --- |');
for (const [k, v] of [...ms].filter(([k]) => k !== 'idle').sort((a, b) => b[1] - a[1])) {
  out.push(`| ${k} | ${v.toFixed(0)} | ${((v * 1000) / messages).toFixed(0)} | ${((100 * v) / busy).toFixed(1)} |`);
}
if (inclRe) out.push('', `inclusive ${inclRe}: ${inclMs.toFixed(0)} ms, ${((inclMs * 1000) / messages).toFixed(0)} µs/msg`);
if (framesOf) {
  out.push('', `leaf frames in "${framesOf}":`);
  for (const [k, v] of [...leafMs].sort((a, b) => b[1] - a[1]).slice(0, 30)) out.push(`${v.toFixed(1).padStart(8)} ms  ${k}`);
}
process.stdout.write(`${out.join('\n')}\n`);
