// CPU per Redis round trip in node/ioredis (bench/RESULTS.md, "Syscalls and socket frames per message"): one GET per
// turn vs two GETs in one write (corked, as RedisService does per tick) vs two in separate turns.
// node bench/tools/redis-round-trip.js [iterations]   (the Redis at 127.0.0.1:6379, key sendrtt:a)
const Redis = require('ioredis');
const N = Number(process.argv[2] ?? 3000);
async function main() {
  const c = new Redis('redis://127.0.0.1:6379');
  await c.set('sendrtt:a', 'x'.repeat(20));
  const turn = () => new Promise((r) => setImmediate(r));
  async function measure(name, body) {
    for (let i = 0; i < 300; i++) await body(); // warm
    const u0 = process.cpuUsage(); const t0 = performance.now();
    for (let i = 0; i < N; i++) { await body(); await turn(); }
    const u = process.cpuUsage(u0); const ms = performance.now() - t0;
    console.log(`${name.padEnd(34)} user ${(u.user / N).toFixed(1)} us  sys ${(u.system / N).toFixed(1)} us  total ${((u.user + u.system) / N).toFixed(1)} us/iter  wall ${(ms * 1000 / N).toFixed(0)} us`);
  }
  for (let round = 0; round < 3; round++) {
    await measure('one GET per iteration', () => c.get('sendrtt:a'));
    await measure('two GETs, one turn (one write)', () => { c.stream.cork(); const p = Promise.all([c.get('sendrtt:a'), c.get('sendrtt:a')]); process.nextTick(() => c.stream.uncork()); return p; });
    await measure('two GETs, two turns (two writes)', async () => { await c.get('sendrtt:a'); await turn(); await c.get('sendrtt:a'); });
  }
  await c.quit();
}
main();
