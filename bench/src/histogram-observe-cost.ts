/**
 * `node test/support/run-ts.js bench/src/histogram-observe-cost.ts [observes] [rounds]`: ns of CPU per
 * histogram observe, prom-client's Histogram against FastHistogram (libs/metrics), in the shapes the
 * send path uses: unlabeled (batch size, e2e latency), one label through `observe({stage}, v)` (the stage
 * clock, the socket event), two labels (the DB command latency), a held `labels('wait')` child; and, for
 * the counters left on prom-client, `inc({result})` against a held `labels('stored')` child. Each figure
 * is the best of the rounds, the two implementations alternating within each round; in process,
 * single-threaded, each in its own Registry.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { FastHistogram } from '../../libs/metrics/src/fast-histogram';

const BUCKETS = [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.5];
const STAGES = ['wait', 'claim', 'reserve', 'insert', 'commit', 'last_message'];
const COMMANDS = ['find', 'insert', 'update', 'aggregate'];

function main(): void {
  const n = Number(process.argv[2] ?? 200_000);
  const rounds = Number(process.argv[3] ?? 7);
  // Latencies spread over the buckets as the stages' are (mostly 0.1-10 ms), precomputed.
  const values = Float64Array.from({ length: 4096 }, (_, i) => 0.0001 * Math.exp((i % 97) / 12));
  const make = (impl: 'prom-client' | 'fast', labelNames: string[]) => {
    const registers = [new Registry()];
    return impl === 'prom-client'
      ? new Histogram({ name: 'h', help: 'h', labelNames, buckets: BUCKETS, registers })
      : new FastHistogram('h', 'h', labelNames, BUCKETS, registers[0]);
  };
  type Case = (impl: 'prom-client' | 'fast') => (i: number) => void;
  const cases: Array<[string, Case]> = [
    ['histogram observe(v), no labels', (impl) => {
      const h = make(impl, []) as Histogram;
      return (i) => h.observe(values[i & 4095]);
    }],
    ['histogram observe({stage}, v)', (impl) => {
      const h = make(impl, ['stage']) as Histogram;
      return (i) => h.observe({ stage: STAGES[i % 6] }, values[i & 4095]);
    }],
    ['histogram observe({command, ok}, v)', (impl) => {
      const h = make(impl, ['command', 'ok']) as Histogram;
      return (i) => h.observe({ command: COMMANDS[i & 3], ok: 'true' }, values[i & 4095]);
    }],
    ["histogram labels('wait') held, observe(v)", (impl) => {
      const child = (make(impl, ['stage']) as Histogram).labels('wait');
      return (i) => child.observe(values[i & 4095]);
    }],
    ["histogram labels(stage).observe(v) each time", (impl) => {
      const h = make(impl, ['stage']) as Histogram;
      return (i) => h.labels(STAGES[i % 6]).observe(values[i & 4095]);
    }],
    ['send-path mix: 5 histograms, 10 observes (per observe)', (impl) => {
      // What one message does, roughly: each histogram of the send path with its labels, interleaved, so
      // the shared observe code sees several histograms (as in the server) rather than one.
      const stage = make(impl, ['stage']) as Histogram;
      const db = make(impl, ['command', 'ok']) as Histogram;
      const event = make(impl, ['event']) as Histogram;
      const batch = make(impl, []) as Histogram;
      const e2e = make(impl, []) as Histogram;
      return (i) => {
        const v = values[i & 4095];
        if (i % 10 === 0) batch.observe(v);
        else if (i % 10 === 1) stage.labels('wait').observe(v);
        else if (i % 10 < 7) stage.observe({ stage: STAGES[i % 10 - 1] }, v);
        else if (i % 10 === 7) db.observe({ command: COMMANDS[i & 3], ok: 'true' }, v);
        else if (i % 10 === 8) event.observe({ event: 'message:send' }, v);
        else e2e.observe(v);
      };
    }],
  ];
  const counterCases: Array<[string, () => (i: number) => void]> = [
    ['prom-client counter inc({result})', () => {
      const c = new Counter({ name: 'c', help: 'c', labelNames: ['result'], registers: [new Registry()] });
      return () => c.inc({ result: 'stored' });
    }],
    ['(the loop and the call, for reference)', () => {
      let sink = 0;
      return (i) => {
        sink += values[i & 4095];
        if (sink < 0) throw new Error();
      };
    }],
    ["prom-client counter labels('stored') held, inc()", () => {
      const c = new Counter({ name: 'c', help: 'c', labelNames: ['result'], registers: [new Registry()] }).labels('stored');
      return () => c.inc();
    }],
  ];
  const time = (fn: (i: number) => void): number => {
    for (let i = 0; i < 20_000; i++) fn(i); // warm-up
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) fn(i);
    const t = process.cpuUsage(t0);
    return ((t.user + t.system) * 1000) / n;
  };
  const best = new Map<string, number>();
  const keep = (k: string, ns: number) => best.set(k, Math.min(best.get(k) ?? Infinity, ns));
  for (let r = 0; r < rounds; r++) {
    for (const [name, c] of cases) {
      const order: Array<'prom-client' | 'fast'> = r % 2 ? ['fast', 'prom-client'] : ['prom-client', 'fast'];
      for (const impl of order) keep(`${name}|${impl}`, time(c(impl)));
    }
    for (const [name, c] of counterCases) keep(name, time(c()));
  }
  const f = (ns: number) => ns.toFixed(0).padStart(7);
  process.stdout.write(`${process.version}, ${n} calls per figure, best of ${rounds} rounds, ns CPU per call\n`);
  process.stdout.write(`${'case'.padEnd(46)} prom-client    fast  ratio\n`);
  for (const [name] of cases) {
    const p = best.get(`${name}|prom-client`)!;
    const q = best.get(`${name}|fast`)!;
    process.stdout.write(`${name.padEnd(46)} ${f(p)} ${f(q)}  ${(p / q).toFixed(1)}x\n`);
  }
  for (const [name] of counterCases) process.stdout.write(`${name.padEnd(46)} ${f(best.get(name)!)}\n`);
}

main();
