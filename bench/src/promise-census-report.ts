/**
 * Per-message tables from a promise census file (lib/promise-census.ts): the send phase is the longest
 * run of seconds whose promise rate is at least a third of the busiest seconds'; its first `skip` and
 * last `trim` seconds are left out (warm-up, drain). Usage:
 *   node bench/out/bench/src/promise-census-report.js <file.jsonl> <messages per second> [skip=4] [trim=3] [top=40]
 */
import { readFileSync } from 'node:fs';

interface Line {
  t: number;
  promises: number;
  others: number;
  every: number;
  samples: Record<string, number>;
}

function main(): void {
  const [file, rateArg, skipArg = '4', trimArg = '3', topArg = '40'] = process.argv.slice(2);
  if (!file || !rateArg) throw new Error('usage: promise-census-report <file.jsonl> <messages/s> [skip] [trim] [top]');
  const rate = Number(rateArg);
  const lines: Line[] = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
  const perSec = lines.slice(1).map((l, i) => ((l.promises - lines[i].promises) * 1000) / (l.t - lines[i].t));
  const busy = [...perSec].sort((a, b) => b - a)[Math.min(3, perSec.length - 1)] ?? 0;
  let best: [number, number] = [0, 0];
  for (let i = 0; i < perSec.length; ) {
    if (perSec[i] < busy / 3) {
      i++;
      continue;
    }
    let j = i;
    while (j < perSec.length && perSec[j] >= busy / 3) j++;
    if (j - i > best[1] - best[0]) best = [i, j];
    i = j;
  }
  const from = lines[best[0] + Number(skipArg)];
  const to = lines[best[1] - Number(trimArg)];
  if (!from || !to || to.t <= from.t) throw new Error(`no steady window found (busy run ${best[0]}..${best[1]} of ${perSec.length}s)`);
  const secs = (to.t - from.t) / 1000;
  const msgs = secs * rate;
  const idle = perSec.filter((r) => r < busy / 3).sort((a, b) => a - b);
  console.log(`${file}: window ${secs.toFixed(1)} s (${new Date(from.t).toISOString()} …), ${msgs.toFixed(0)} messages at ${rate}/s`);
  console.log(`promises/msg ${((to.promises - from.promises) / msgs).toFixed(1)}, other async resources/msg ${((to.others - from.others) / msgs).toFixed(2)}, quietest second ${(idle[0] ?? 0).toFixed(0)} promises/s`);
  const byKey = new Map<string, number>();
  for (const [k, n] of Object.entries(to.samples)) {
    const d = n - (from.samples[k] ?? 0);
    if (d > 0) byKey.set(k, (d * to.every) / msgs);
  }
  const byOwner = new Map<string, number>();
  for (const [k, v] of byKey) byOwner.set(k.split('\t')[0], (byOwner.get(k.split('\t')[0]) ?? 0) + v);
  const sampled = [...byOwner.values()].reduce((a, b) => a + b, 0);
  console.log(`\nby creator's owner (sampled 1/${to.every}; total ${sampled.toFixed(1)}/msg)`);
  for (const [k, v] of [...byOwner].sort((a, b) => b[1] - a[1])) console.log(`${v.toFixed(2).padStart(7)}  ${k}`);
  const byCaller = new Map<string, number>();
  for (const [k, v] of byKey) {
    const [owner, fn, caller] = k.split('\t');
    const key = owner === 'project' ? fn : `${caller}  (via ${owner})`;
    byCaller.set(key, (byCaller.get(key) ?? 0) + v);
  }
  console.log('\nby project function (the creator, or the nearest project frame of a library-created promise)');
  for (const [k, v] of [...byCaller].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg))) console.log(`${v.toFixed(2).padStart(7)}  ${k}`);
  console.log('\nby creating frame');
  for (const [k, v] of [...byKey].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg))) console.log(`${v.toFixed(2).padStart(7)}  ${k.replace(/\t/g, '  ')}`);
}

main();
