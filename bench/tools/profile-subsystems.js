#!/usr/bin/env node
// `node bench/tools/profile-subsystems.js <window.cpuprofile> <messages in window> [--frames SUBSYSTEM]`
//
// Splits a (window) CPU profile's busy samples into subsystems so the project and B+db can be compared
// per message. Each sample goes to exactly one subsystem (the rows sum to the busy time): the innermost
// frame of its stack that belongs to a known owner wins, so a library's row includes the Node internals
// and system calls it made (ioredis -> net -> writev is Redis) but not the project callbacks it invoked
// (socket.io -> the gateway's handler is the gateway). Frames of no known owner (node:internal streams,
// timers, `debug` calls) are passed through to their caller. async_hooks frames count only as the leaf
// (their own hook work): `callbackTrampoline` and `AsyncLocalStorage.run` sit at the root of every native
// callback and every tenant-scoped event, and counting what they call would be counting everything.
// `--frames X` prints the top leaf functions inside subsystem X (to check what a row holds).
'use strict';
const { readFileSync } = require('node:fs');

const args = process.argv.slice(2);
const [file, msgsArg] = args;
const framesOf = args.includes('--frames') ? args[args.indexOf('--frames') + 1] : null;
// `--incl REGEX`: also the inclusive time of the samples with a frame whose "function url" matches REGEX.
const inclRe = args.includes('--incl') ? new RegExp(args[args.indexOf('--incl') + 1]) : null;
if (!file || !msgsArg) {
  process.stderr.write('usage: node bench/tools/profile-subsystems.js <file.cpuprofile> <messages> [--frames X]\n');
  process.exit(2);
}
const messages = Number(msgsArg);

// Order matters only within one frame (the first rule that matches the frame names it).
const RULES = [
  ['GC', (f) => f.functionName === '(garbage collector)'],
  ['ALS hooks (async_hooks, leaf only)', (f, leaf) => leaf && /^node:(internal\/)?async_hooks$/.test(f.url)],
  ['metrics (prom-client, libs/metrics)', (f) => /node_modules\/prom-client\/|\/libs\/metrics\//.test(f.url)],
  ['logging (pino, libs/logging)', (f) => /node_modules\/(pino|pino-std-serializers|sonic-boom|thread-stream)\/|\/libs\/logging\//.test(f.url)],
  ['Mongo command monitoring (driver events + DbCommandMonitor)', (f) =>
    /mongodb\/lib\/cmap\/command_monitoring_events\.js|\/libs\/database\/src\/db-command-monitor/.test(f.url)],
  ['Mongo driver + BSON (+ mongoose)', (f) => /node_modules\/(mongodb|bson|mongoose|kareem|mpath|mquery|sift)\//.test(f.url)],
  ['Redis (ioredis, libs/redis)', (f) =>
    /node_modules\/(ioredis|redis-parser|redis-errors|standard-as-callback|cluster-key-slot|denque)\/|\/libs\/redis\//.test(f.url)],
  ['redis-adapter fan-out (adapter, notepack)', (f) =>
    /node_modules\/(@socket\.io\/redis-adapter|socket\.io-adapter|notepack\.io)\//.test(f.url)],
  ['socket.io / engine.io / ws', (f) =>
    /node_modules\/(socket\.io|engine\.io|ws|socket\.io-parser|engine\.io-parser|@socket\.io\/component-emitter|base64id)\//.test(f.url)],
  ['DTO validation (class-validator, validator, libs/errors validation)', (f) =>
    /node_modules\/(class-validator|validator|class-transformer|libphonenumber-js)\/|\/libs\/errors\/src\/(validation|instance-fast-path|bounded-input|json-byte-length)/.test(f.url)],
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

const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const owner = new Map(); // node id -> subsystem (memoized per node: its stack is fixed)
function ownerOf(id) {
  if (owner.has(id)) return owner.get(id);
  const leaf = byId.get(id).callFrame;
  if (leaf.functionName === '(idle)') return 'idle';
  if (leaf.functionName === '(program)') return '(program): V8/native outside JS';
  let cur = id;
  let result = 'Node internals, no owner (event loop, stream reads)';
  for (let first = true; cur !== undefined; cur = parent.get(cur), first = false) {
    const f = byId.get(cur).callFrame;
    const rule = RULES.find(([, test]) => test(f, first));
    if (rule) { result = rule[0]; break; }
  }
  owner.set(id, result);
  return result;
}

const ms = new Map();
const leafMs = new Map();
const deltas = profile.timeDeltas;
let busy = 0;
let inclMs = 0;
const inclMemo = new Map();
function hasIncl(id) {
  if (inclMemo.has(id)) return inclMemo.get(id);
  const f = byId.get(id).callFrame;
  const p = parent.get(id);
  const r = inclRe.test(`${f.functionName} ${f.url}`) || (p !== undefined && hasIncl(p));
  inclMemo.set(id, r);
  return r;
}
for (let i = 0; i < profile.samples.length; i++) {
  const dt = (deltas[i + 1] ?? 0) / 1000; // a sample's time is the gap to the next one
  const id = profile.samples[i];
  const o = ownerOf(id);
  ms.set(o, (ms.get(o) ?? 0) + dt);
  if (o !== 'idle') busy += dt;
  if (inclRe && o !== 'idle' && hasIncl(id)) inclMs += dt;
  if (framesOf && o.startsWith(framesOf)) {
    const f = byId.get(id).callFrame;
    const k = `${f.functionName || '(anonymous)'} ${f.url.replace(/.*node_modules\//, '').replace(/.*bench\/out\/project\//, '')}:${f.lineNumber}`;
    leafMs.set(k, (leafMs.get(k) ?? 0) + dt);
  }
}

const windowS = (profile.endTime - profile.startTime) / 1e6;
process.stdout.write(`window ${windowS.toFixed(2)} s, busy ${busy.toFixed(0)} ms, ${messages} messages: ${(busy * 1000 / messages).toFixed(0)} µs/msg busy\n\n`);
process.stdout.write('| subsystem | ms | µs/msg | % of busy |\n| --- | --- | --- | --- |\n');
for (const [k, v] of [...ms].filter(([k]) => k !== 'idle').sort((a, b) => b[1] - a[1])) {
  process.stdout.write(`| ${k} | ${v.toFixed(0)} | ${(v * 1000 / messages).toFixed(0)} | ${(100 * v / busy).toFixed(1)} |\n`);
}
if (inclRe) process.stdout.write(`\ninclusive ${inclRe}: ${inclMs.toFixed(0)} ms, ${(inclMs * 1000 / messages).toFixed(0)} µs/msg\n`);
if (framesOf) {
  process.stdout.write(`\nleaf frames in "${framesOf}":\n`);
  for (const [k, v] of [...leafMs].sort((a, b) => b[1] - a[1]).slice(0, 30)) process.stdout.write(`${v.toFixed(1).padStart(8)} ms  ${k}\n`);
}
