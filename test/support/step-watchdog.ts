/**
 * Fails a long test step that stopped making progress, naming the step, instead of letting the run
 * sit until jest's 30-minute timeout. The app runs in the test's process, so a step that is working
 * (ts-mls crypto, the server handling a request) burns this process's CPU; a promise that will never
 * settle leaves it idle. "Stalled" is therefore measured in CPU, not wall time: a loaded machine
 * makes a step slow, not idle, and does not trip it. Waiting on FerretDB (another process) is idle
 * time here, hence a stall window of minutes.
 */
export interface StepWatchdogOptions {
  /** The step fails after this long with (almost) no CPU used by this process (default 3 min). */
  stallMs?: number;
  /** Between checks (default 5 s). */
  intervalMs?: number;
  /** CPU this process used so far, in ms (default process.cpuUsage(); tests replace it). */
  cpuMs?: () => number;
  /** More to say about a stall (e.g. requests still pending), added to the error. */
  diagnose?: () => string;
}

/** Less than this share of a check interval spent on CPU counts as idle (timers, heartbeats of the app). */
const IDLE_CPU_SHARE = 0.02;

export class StepStalledError extends Error {
  constructor(
    readonly step: string,
    idleMs: number,
    more = '',
  ) {
    super(`step "${step}" stalled: no progress (this process idle) for ${Math.round(idleMs / 1000)} s; active resources: ${describeResources()}${more ? `; ${more}` : ''}`);
    this.name = 'StepStalledError';
  }
}

function describeResources(): string {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${r} x${n}`).join(', ') || 'none';
}

const processCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Runs `fn` as the step `name`; rejects with StepStalledError when it stops making progress. */
export async function watchStep<T>(name: string, fn: () => Promise<T>, o: StepWatchdogOptions = {}): Promise<T> {
  const stallMs = o.stallMs ?? 3 * 60_000;
  const intervalMs = o.intervalMs ?? 5_000;
  const cpuMs = o.cpuMs ?? processCpuMs;
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    let lastCpu = cpuMs();
    let lastCheck = Date.now();
    let idleMs = 0;
    timer = setInterval(() => {
      const cpu = cpuMs();
      const now = Date.now();
      idleMs = cpu - lastCpu < (now - lastCheck) * IDLE_CPU_SHARE ? idleMs + (now - lastCheck) : 0;
      lastCpu = cpu;
      lastCheck = now;
      if (idleMs >= stallMs) reject(new StepStalledError(name, idleMs, o.diagnose?.()));
    }, intervalMs);
  });
  try {
    return await Promise.race([fn(), stalled]);
  } finally {
    clearInterval(timer);
  }
}
