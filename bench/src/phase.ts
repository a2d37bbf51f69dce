/* One measured phase of a run: the generator workers' messages for it (socket sends or REST reads), and
 * what is read around it (cache counters, Redis command stats, CPU of the server, services and generators,
 * and, with --cpu-prof-window, a CPU profile of its measured window). */
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { GeneratorPool, PhaseResult } from './generator/pool';
import type { RestPhase, RunMsg, SocketPhase } from './generator/messages';
import type { ProcSampler } from './lib/proc';
import { cacheCounts, dbCommandsBetween, histogramBetween, hitRateBetween, scrapeMetrics, type PromSamples } from './lib/prom';
import { commandsBetween, readCommandStats } from './lib/redis-commands';
import { nowUs, splitRanges } from './lib/schedule';
import { WindowProfiler } from './lib/window-profiler';
import type { Options } from './options';
import { log, type Progress } from './progress';
import type { Plan, WorkerSlice } from './scenarios/plan';
import type { Provisioned } from './scenarios/provision';
import { REPO_ROOT, type RunningTarget } from './servers/launch';

/** What the phases of one run share: the target, who talks to whom, the generators and the samplers. */
export interface Ctx {
  o: Options;
  target: RunningTarget;
  plan: Plan;
  prov: Provisioned;
  pool: GeneratorPool;
  slices: WorkerSlice[];
  sampler: ProcSampler;
  progress: Progress;
  /** `--cpu-prof-window`: where the measured window's profile goes (null: not profiled). */
  profileFile: string | null;
  redisUrl: string;
}

export interface PhaseOutcome {
  res: PhaseResult;
  cache: { hits: number; misses: number; hitRate: number | null } | null;
  genCpu: number;
  server: ReturnType<ProcSampler['summary']>;
  /** The all-in-one's webhook delivery worker (target project+webhook-worker), else null. */
  worker: ReturnType<ProcSampler['summary']>;
  services: Record<string, number>;
  redisCommands: Map<string, number> | null;
  /** Database commands the server sent in the phase, by command (its /metrics counter). */
  dbCommands: Map<string, number> | null;
}

export function socketPhases(c: Ctx, rate: number, durationMs: number, templates: SocketPhase['templates']): SocketPhase[] {
  const socketIndex = new Map(c.plan.socketUsers.map((u, i) => [u, i]));
  return c.slices.map((sl) => ({
    schedule: { rate, durationMs, senders: c.plan.senders.length },
    from: sl.from,
    to: sl.to,
    senders: c.plan.senders.slice(sl.from, sl.to).map((s, k) => ({
      socket: socketIndex.get(s.user)! - sl.socketFrom,
      conversation: c.prov.conversationIds[s.conversation]!,
      members: c.plan.conversations[s.conversation]!.members.map((u) => c.prov.userIds[u]!),
      ...(c.prov.senderContents ? { content: c.prov.senderContents[sl.from + k] } : {}),
    })),
    templates,
    omitClientMsgId: c.o.noClientMsgId,
  }));
}

export function restPhases(c: Ctx, readers: Array<{ path: string; token: string }>, rate: number, durationMs: number): RestPhase[] {
  return splitRanges(readers.length, c.pool.size).map(([from, to]) => ({
    schedule: { rate, durationMs, senders: readers.length },
    from,
    to,
    readers: readers.slice(from, to),
    maxSockets: 64,
  }));
}

/** Starts the profiler after `afterMs`, stops it `forMs` later, and resolves with the profile. */
async function profileWindow(p: WindowProfiler, afterMs: number, forMs: number): Promise<unknown> {
  await new Promise((r) => setTimeout(r, Math.max(0, afterMs)));
  await p.start();
  await new Promise((r) => setTimeout(r, forMs));
  return p.stop();
}

export async function runPhase(
  c: Ctx,
  label: string,
  durationMs: number,
  warmupMs: number,
  build: (worker: number) => Pick<RunMsg, 'socket' | 'rest' | 'churn'>,
  profile = true,
): Promise<PhaseOutcome> {
  const before: PromSamples | null = await scrapeMetrics(c.target.url);
  const redisBefore = await readCommandStats(c.redisUrl);
  let profiler = profile && c.profileFile && c.target.inspectPort ? new WindowProfiler(c.target.inspectPort) : null;
  await profiler?.attach().catch((err: Error) => {
    log(`could not attach the profiler: ${err.message}`);
    profiler?.close();
    profiler = null;
  });
  c.sampler.mark();
  const startUs = nowUs() + 300_000;
  c.progress.start(label, durationMs + 300, c.pool, c.sampler);
  // The send path's stages are logged over the measured window (and drain) only, as the latencies are:
  // a scrape at the end of the warm-up is their start (it also resets the server's event-loop delay histogram).
  const windowStart = new Promise<PromSamples | null>((resolve) =>
    setTimeout(() => void scrapeMetrics(c.target.url).then(resolve, () => resolve(null)), Math.max(0, (startUs - nowUs()) / 1000 + warmupMs)),
  );
  // The profile covers the measured window only: from the end of the warm-up to the last message due.
  const profiled = profiler
    ? profileWindow(profiler, (startUs - nowUs()) / 1000 + warmupMs, durationMs - warmupMs).then(
        (profile) => ({ profile, error: null }),
        (error: Error) => ({ profile: null, error }),
      )
    : null;
  let res: PhaseResult;
  try {
    res = await c.pool.run(
      c.slices.map((_, w) => ({ phase: label, startUs, warmupMs, drainMs: c.o.drainMs, fanout: c.plan.fanout, ...build(w) })),
      durationMs + c.o.drainMs + 60_000,
    );
  } finally {
    c.progress.stop();
    if (profiler && profiled) {
      const { profile: p, error } = await profiled;
      (profiler as WindowProfiler).close();
      if (error) log(`window profile failed: ${error.message}`);
      else {
        writeFileSync(c.profileFile!, JSON.stringify(p));
        const heap = (profiler as WindowProfiler).heapProfile;
        if (heap) writeFileSync(c.profileFile!.replace(/\.cpuprofile$/, '.heapprofile'), JSON.stringify(heap));
        log(`profile of the measured window: ${relative(REPO_ROOT, c.profileFile!)}`);
      }
    }
  }
  c.sampler.sample();
  const redisAfter = await readCommandStats(c.redisUrl);
  const after = await scrapeMetrics(c.target.url);
  const measuredFrom = (await windowStart) ?? before;
  if (measuredFrom && after) logWritePath(label, measuredFrom, after);
  const genCpu = c.pool.pids.reduce((a, _, i) => a + (c.sampler.summary(`gen${i}`)?.avgCpuPct ?? 0), 0);
  const services: Record<string, number> = {};
  for (const name of ['redis', 'ferretdb']) {
    const s = c.sampler.summary(name);
    if (s) services[name] = s.avgCpuPct;
  }
  const redisCommands = redisBefore && redisAfter ? commandsBetween(redisBefore, redisAfter) : null;
  const dbCommands = before && after ? dbCommandsBetween(before, after) : null;
  return { res, cache: before && after ? hitRateBetween(cacheCounts(before), cacheCounts(after)) : null, genCpu, server: c.sampler.summary('server'), worker: c.sampler.summary('worker'), services, redisCommands, dbCommands };
}

/** Where the project's send time went in a phase (its /metrics): the socket event to its ack, then the batcher's stages. */
function logWritePath(phase: string, before: PromSamples, after: PromSamples): void {
  const rows = [
    ...histogramBetween(before, after, 'chat_socket_event_seconds', 'event', 'event="message:send"').map((r) => ({ ...r, label: 'ack (socket event)' })),
    ...histogramBetween(before, after, 'chat_message_batch_write_seconds').map((r) => ({ ...r, label: 'batch write' })),
    ...histogramBetween(before, after, 'chat_message_batch_stage_seconds', 'stage'),
  ];
  if (!rows.length) return;
  const f = (n: number) => n.toFixed(2).padStart(8);
  log(`${phase}: send path after the warm-up, ms (mean / p50 / p99, count)`);
  for (const r of rows) log(`  ${r.label.padEnd(20)} ${f(r.meanMs)} ${f(r.p50Ms)} ${f(r.p99Ms)}  ${r.count}`);
  const between = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
  const batches = between('chat_message_batch_size_count');
  if (batches > 0) log(`  messages per batch   ${f(between('chat_message_batch_size_sum') / batches)}`);
  // prom-client's monitorEventLoopDelay (10 ms timer, reset at each scrape): an idle loop shows ~10 ms.
  const lag = (q: string) => (after.get(`nodejs_eventloop_lag_${q}_seconds`) ?? NaN) * 1000;
  if (after.has('nodejs_eventloop_lag_p50_seconds')) log(`  event-loop delay (10 ms timer) p50 / p99 / max ${f(lag('p50'))} ${f(lag('p99'))} ${f(lag('max'))}`);
}
