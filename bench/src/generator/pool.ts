import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { decodeHistogram, mergeHistograms, newHistogram, type Histogram } from '../lib/histogram';
import { pinnedCommand } from '../lib/pin';
import type { ConnectedMsg, FromWorker, InitMsg, ProgressMsg, ResultMsg, RunMsg, ToWorker } from './messages';

const WORKER_MAIN = join(__dirname, 'worker.js');

export interface PhaseResult {
  sent: number;
  sentTotal: number;
  acked: number;
  ackedTotal: number;
  delivered: number;
  echoes: number;
  errors: Record<string, number>;
  ack: Histogram;
  e2e: Histogram;
  lag: Histogram;
  reconnect: Histogram;
  churned: number;
  presenceEvents: number;
  unexpectedDisconnects: number;
  windowUs: number;
  /** Sum over workers of each worker's own CPU%. */
  cpuPct: number;
  cpuUs: number;
  bytesRead: number;
}

export interface ConnectResult {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  connect: Histogram;
}

/** Generator processes on the generator's core, driven over IPC. */
export class GeneratorPool {
  private readonly workers: ChildProcess[] = [];
  private readonly progress = new Map<number, ProgressMsg>();
  private listeners: Array<(m: FromWorker) => void> = [];

  constructor(count: number, core: number | null) {
    for (let i = 0; i < count; i++) {
      // BENCH_GEN_CPU_PROF=<dir>: profile the generator itself (to see what limits it).
      const prof = process.env.BENCH_GEN_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_GEN_CPU_PROF}`] : [];
      const { cmd, args } = pinnedCommand(core, process.execPath, [...prof, WORKER_MAIN]);
      const w = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      w.on('message', (m: FromWorker) => {
        if (m.type === 'progress') this.progress.set(m.workerId, m);
        for (const l of this.listeners) l(m);
      });
      this.workers.push(w);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.pid!);
  }

  private post(i: number, m: ToWorker): void {
    this.workers[i]!.send(m);
  }

  /** Waits for one message of `type` from every worker; a worker error or exit rejects. */
  private collect<T extends FromWorker>(type: T['type'], timeoutMs: number): Promise<T[]> {
    return new Promise((resolve, reject) => {
      const got = new Map<number, T>();
      const timer = setTimeout(() => finish(new Error(`generator: no ${type} from every worker within ${timeoutMs} ms`)), timeoutMs);
      const exits = this.workers.map((w, i) => {
        const onExit = (code: number | null) => finish(new Error(`generator worker ${i} exited (code ${code}) while waiting for ${type}`));
        w.once('exit', onExit);
        return () => w.off('exit', onExit);
      });
      const listener = (m: FromWorker) => {
        if (m.type === 'error') return finish(new Error(`generator worker ${m.workerId}: ${m.message}`));
        if (m.type !== type) return;
        got.set(m.workerId, m as T);
        if (got.size === this.workers.length) finish(null);
      };
      const finish = (err: Error | null) => {
        clearTimeout(timer);
        exits.forEach((off) => off());
        this.listeners = this.listeners.filter((l) => l !== listener);
        if (err) reject(err);
        else resolve([...got.values()]);
      };
      this.listeners.push(listener);
    });
  }

  async connect(inits: Omit<InitMsg, 'type'>[], timeoutMs: number): Promise<ConnectResult> {
    const wait = this.collect<ConnectedMsg>('connected', timeoutMs);
    inits.forEach((m, i) => this.post(i, { type: 'init', ...m }));
    const res = await wait;
    const errors: Record<string, number> = {};
    for (const r of res) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    return {
      ok: res.reduce((a, r) => a + r.ok, 0),
      failed: res.reduce((a, r) => a + r.failed, 0),
      errors,
      connect: mergeHistograms(res.map((r) => decodeHistogram(r.connectHist))),
    };
  }

  /** Totals of the latest progress reports, for the progress display. */
  progressTotals(): { sent: number; acked: number; errors: number; delivered: number; lagMaxMs: number; ackP99Ms: number } {
    const t = { sent: 0, acked: 0, errors: 0, delivered: 0, lagMaxMs: 0, ackP99Ms: 0 };
    for (const p of this.progress.values()) {
      t.sent += p.sent;
      t.acked += p.acked;
      t.errors += p.errors;
      t.delivered += p.delivered;
      t.lagMaxMs = Math.max(t.lagMaxMs, p.lagMaxMs);
      t.ackP99Ms = Math.max(t.ackP99Ms, p.ackP99Ms);
    }
    return t;
  }

  async run(runs: Omit<RunMsg, 'type'>[], timeoutMs: number): Promise<PhaseResult> {
    this.progress.clear();
    const wait = this.collect<ResultMsg>('result', timeoutMs);
    runs.forEach((m, i) => this.post(i, { type: 'run', ...m }));
    const res = await wait;
    const errors: Record<string, number> = {};
    for (const r of res) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    const merge = (pick: (r: ResultMsg) => string) => (res.length ? mergeHistograms(res.map((r) => decodeHistogram(pick(r)))) : newHistogram());
    const sum = (pick: (r: ResultMsg) => number) => res.reduce((a, r) => a + pick(r), 0);
    return {
      sent: sum((r) => r.sent),
      sentTotal: sum((r) => r.sentTotal),
      acked: sum((r) => r.acked),
      ackedTotal: sum((r) => r.ackedTotal),
      delivered: sum((r) => r.delivered),
      echoes: sum((r) => r.echoes),
      errors,
      ack: merge((r) => r.ackHist),
      e2e: merge((r) => r.e2eHist),
      lag: merge((r) => r.lagHist),
      reconnect: merge((r) => r.reconnectHist),
      churned: sum((r) => r.churned),
      presenceEvents: sum((r) => r.presenceEvents),
      unexpectedDisconnects: sum((r) => r.unexpectedDisconnects),
      windowUs: Math.max(0, ...res.map((r) => r.windowUs)),
      cpuPct: sum((r) => r.cpuPct),
      cpuUs: sum((r) => r.cpuUs),
      bytesRead: sum((r) => r.bytesRead),
    };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w, i) =>
          new Promise<void>((res) => {
            if (w.exitCode !== null) return res();
            w.once('exit', () => res());
            try {
              this.post(i, { type: 'close' });
            } catch {
              w.kill('SIGKILL');
            }
            setTimeout(() => w.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
  }
}
