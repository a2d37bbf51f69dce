/** `node bench/out/bench/src/profile-top.js <file.cpuprofile> [n]`: the hot spots of a --cpu-prof profile. */
import { readFileSync } from 'node:fs';
import { byOwner, topFunctions, type CpuProfile } from './lib/cpuprofile';
import { markdownTable } from './lib/report';

const [file, n] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/out/bench/src/profile-top.js <file.cpuprofile> [n]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const rows = (list: ReturnType<typeof topFunctions>) => list.map((h) => [h.name, h.selfMs.toFixed(1), h.pct.toFixed(1)]);
process.stdout.write(`### Self time by owner\n\n${markdownTable(['owner', 'self ms', '%'], rows(byOwner(profile)))}\n\n`);
process.stdout.write(`### Top functions by self time\n\n${markdownTable(['function', 'self ms', '%'], rows(topFunctions(profile, Number(n ?? 25))))}\n`);
