import { readFileSync } from 'node:fs';

/** Clock ticks per second for /proc times (USER_HZ; 100 on every mainstream Linux build). */
export const CLK_TCK = 100;
export const PAGE_SIZE = 4096;

export interface ProcStat {
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  rssBytes: number;
}

/** Parses /proc/<pid>/stat (the command name may hold spaces and parentheses: split after the last ')'). */
export function parseProcStat(text: string): ProcStat {
  const rest = text.slice(text.lastIndexOf(')') + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state): field n is rest[n - 3].
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  const rssPages = Number(rest[24 - 3]);
  return { cpuTicks: utime + stime, rssBytes: rssPages * PAGE_SIZE };
}

export interface CpuTimes {
  busy: number;
  total: number;
}

/** Per-core busy/total ticks from /proc/stat ("cpu0 user nice system idle iowait irq softirq steal ..."). */
export function parseCpuLines(text: string): Map<number, CpuTimes> {
  const out = new Map<number, CpuTimes>();
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out.set(Number(m[1]), { busy: total - idle, total });
  }
  return out;
}

/** CPU use in percent of one core between two readings of the same process. */
export function cpuPercent(before: ProcStat, after: ProcStat, wallMs: number): number {
  if (wallMs <= 0) return 0;
  return (((after.cpuTicks - before.cpuTicks) / CLK_TCK) * 1000 * 100) / wallMs;
}

export function readProcStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

export interface SeriesSummary {
  avgCpuPct: number;
  /** CPU time used over the window (user + system), seconds. */
  cpuSeconds: number;
  maxCpuPct: number;
  maxRssMb: number;
  lastRssMb: number;
}

interface Sample {
  tMs: number;
  stat: ProcStat;
}

/**
 * Samples the CPU and RSS of a set of processes (and the busy share of each core) at a fixed interval.
 * `mark()` starts the measured window, so set-up and warm-up do not count.
 */
export class ProcSampler {
  private readonly series = new Map<string, { pid: number; samples: Sample[] }>();
  private cores: Array<{ tMs: number; cpus: Map<number, CpuTimes> }> = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    pids: Record<string, number>,
    private readonly intervalMs = 500,
  ) {
    for (const [label, pid] of Object.entries(pids)) this.series.set(label, { pid, samples: [] });
  }

  add(label: string, pid: number): void {
    this.series.set(label, { pid, samples: [] });
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  /** Forgets samples taken so far: the window starts now. */
  mark(): void {
    for (const s of this.series.values()) s.samples = s.samples.slice(-1);
    this.cores = this.cores.slice(-1);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }

  sample(): void {
    const tMs = performance.now();
    for (const s of this.series.values()) {
      const stat = readProcStat(s.pid);
      if (stat) s.samples.push({ tMs, stat });
    }
    try {
      this.cores.push({ tMs, cpus: parseCpuLines(readFileSync('/proc/stat', 'utf8')) });
    } catch {
      /* not Linux: per-core figures stay empty */
    }
  }

  /** Latest CPU% (between the last two samples) and RSS of a process, for the progress line. */
  current(label: string): { cpuPct: number; rssMb: number } | null {
    const s = this.series.get(label)?.samples;
    if (!s || s.length < 2) return null;
    const a = s[s.length - 2]!;
    const b = s[s.length - 1]!;
    return { cpuPct: cpuPercent(a.stat, b.stat, b.tMs - a.tMs), rssMb: b.stat.rssBytes / 2 ** 20 };
  }

  latestRssBytes(label: string): number {
    const s = this.series.get(label)?.samples;
    return s?.length ? s[s.length - 1]!.stat.rssBytes : 0;
  }

  summary(label: string): SeriesSummary | null {
    const s = this.series.get(label)?.samples;
    if (!s || s.length < 2) return null;
    return summarizeSamples(s);
  }

  /** Busy percent of each core over the window. */
  coreBusy(): Record<number, number> {
    const out: Record<number, number> = {};
    if (this.cores.length < 2) return out;
    const a = this.cores[0]!.cpus;
    const b = this.cores[this.cores.length - 1]!.cpus;
    for (const [cpu, tb] of b) {
      const ta = a.get(cpu);
      if (!ta || tb.total === ta.total) continue;
      out[cpu] = Math.round((1000 * (tb.busy - ta.busy)) / (tb.total - ta.total)) / 10;
    }
    return out;
  }
}

export function summarizeSamples(s: Sample[]): SeriesSummary {
  const first = s[0]!;
  const last = s[s.length - 1]!;
  let maxCpu = 0;
  let maxRss = 0;
  for (let i = 1; i < s.length; i++) {
    maxCpu = Math.max(maxCpu, cpuPercent(s[i - 1]!.stat, s[i]!.stat, s[i]!.tMs - s[i - 1]!.tMs));
  }
  for (const x of s) maxRss = Math.max(maxRss, x.stat.rssBytes);
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    avgCpuPct: r1(cpuPercent(first.stat, last.stat, last.tMs - first.tMs)),
    cpuSeconds: (last.stat.cpuTicks - first.stat.cpuTicks) / CLK_TCK,
    maxCpuPct: r1(maxCpu),
    maxRssMb: r1(maxRss / 2 ** 20),
    lastRssMb: r1(last.stat.rssBytes / 2 ** 20),
  };
}
