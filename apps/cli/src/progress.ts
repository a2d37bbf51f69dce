import { MultiBar, Presets, SingleBar } from 'cli-progress';

export interface Progress {
  /** Starts a bar for one unit of work (a collection, a tenant...) of `total` items. */
  start(label: string, total: number): ProgressTask;
  stop(): void;
}

export interface ProgressTask {
  increment(n?: number): void;
  setTotal(total: number): void;
  done(): void;
}

/**
 * Progress bars on a terminal; one line per finished task otherwise (CI logs, pipes), so long work
 * always shows that it moves without flooding a log file with redraws. All of it goes to stderr:
 * stdout stays machine-readable (--json output).
 */
export function createProgress(opts: { quiet?: boolean } = {}): Progress {
  if (opts.quiet) return { start: () => ({ increment: () => undefined, setTotal: () => undefined, done: () => undefined }), stop: () => undefined };
  if (!process.stderr.isTTY) {
    return {
      start(label, total) {
        let count = 0;
        let t = total;
        const started = Date.now();
        return {
          increment: (n = 1) => void (count += n),
          setTotal: (n) => void (t = n),
          done: () => process.stderr.write(`  ${label}: ${count}/${t} (${Date.now() - started} ms)\n`),
        };
      },
      stop: () => undefined,
    };
  }
  const multi = new MultiBar(
    { format: '  {label} [{bar}] {value}/{total} {percentage}% | {duration}s', hideCursor: true, clearOnComplete: false, stream: process.stderr, fps: 10 },
    Presets.shades_classic,
  );
  return {
    start(label, total) {
      const bar: SingleBar = multi.create(Math.max(total, 0), 0, { label: label.padEnd(24).slice(0, 24) });
      return {
        increment: (n = 1) => bar.increment(n),
        setTotal: (n) => bar.setTotal(n),
        done: () => {
          bar.setTotal(Math.max(bar.getTotal(), bar.getProgress() * bar.getTotal()));
          bar.stop();
        },
      };
    },
    stop: () => multi.stop(),
  };
}
