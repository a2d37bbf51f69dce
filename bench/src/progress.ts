/** What a bench run tells its operator on stderr: a log line, and the live progress of a phase (phase.ts): a bar
 * on a terminal, a line every 2 s otherwise. */
import { Presets, SingleBar } from 'cli-progress';
import type { GeneratorPool } from './generator/pool';
import type { ProcSampler } from './lib/proc';

export const log = (l: string) => process.stderr.write(`${l}\n`);

export class Progress {
  private bar: SingleBar | null = null;
  private timer: NodeJS.Timeout | null = null;

  start(label: string, totalMs: number, pool: GeneratorPool, sampler: ProcSampler): void {
    this.bar = new SingleBar(
      {
        format: `${label} |{bar}| {percentage}% | sent {sent} acked {acked} deliv {delivered} err {errors} | ack p99 {p99} ms | lag max {lag} ms | server {cpu}% {rss} MB`,
        hideCursor: true,
        noTTYOutput: true,
        notTTYSchedule: 2000,
        stream: process.stderr,
      },
      Presets.shades_classic,
    );
    const t0 = performance.now();
    const payload = () => {
      const t = pool.progressTotals();
      const s = sampler.current('server');
      return { sent: t.sent, acked: t.acked, delivered: t.delivered, errors: t.errors, p99: t.ackP99Ms.toFixed(1), lag: t.lagMaxMs.toFixed(1), cpu: s ? s.cpuPct.toFixed(0) : '-', rss: s ? s.rssMb.toFixed(0) : '-' };
    };
    this.bar.start(Math.max(1, Math.round(totalMs / 100)), 0, payload());
    this.timer = setInterval(() => this.bar?.update(Math.min(Math.round((performance.now() - t0) / 100), Math.round(totalMs / 100)), payload()), 250);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.bar?.stop();
    this.bar = null;
  }
}
