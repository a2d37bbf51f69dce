import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tcpFloor, socketIoFloor } from './floors';
import { GeneratorPool, type PhaseResult } from './generator/pool';
import type { RestPhase, RunMsg, SocketPhase } from './generator/messages';
import { makeEnvelopes } from './envelopes';
import { mlsBaselineEnvelopes, provisionMlsProject } from './scenarios/provision-mls';
import { summarize, type LatencySummary } from './lib/histogram';
import { onInterrupt } from './lib/cleanup';
import { ProcSampler } from './lib/proc';
import { cacheCounts, histogramBetween, hitRateBetween, scrapeMetrics, type PromSamples } from './lib/prom';
import { fmt, isProject, markdownTable, ratioTable, runOrder, runsTable, webhookRatioTable, type RunFigures, type Target } from './lib/report';
import { WebhookSink } from './lib/webhook-sink';
import { nowUs, splitRanges } from './lib/schedule';
import type { Options } from './options';
import { directPlan, groupPlan, historyPlan, idlePlan, sliceForWorkers, type Plan, type WorkerSlice } from './scenarios/plan';
import { addWebhookEndpoint, provisionBaseline, provisionProject, type Provisioned } from './scenarios/provision';
import { OUT_DIR, REPO_ROOT, startTarget, type RunningTarget } from './servers/launch';
import { startServices, type Services } from './services';
import { WindowProfiler } from './lib/window-profiler';
import { commandsBetween, readCommandStats } from './lib/redis-commands';
import { GENERATOR_CORE, machineInfo, SERVER_CORE } from './machine';
import { errorCount, latencyFigures, metricsFor, perMessage, prefixKeys, saturation, sumValues } from './metrics';
import { Progress } from './progress';

// The machine facts, the metric table and the progress bar are in machine.ts, metrics.ts and
// progress.ts; re-exported here so callers keep importing them from run.ts.
export { machineInfo, type Machine } from './machine';
export { METRICS, metricsFor } from './metrics';

const log = (l: string) => process.stderr.write(`${l}\n`);

interface Ctx {
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

function socketPhases(c: Ctx, rate: number, durationMs: number, templates: SocketPhase['templates']): SocketPhase[] {
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

function restPhases(c: Ctx, readers: Array<{ path: string; token: string }>, rate: number, durationMs: number): RestPhase[] {
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

async function runPhase(
  c: Ctx,
  label: string,
  durationMs: number,
  warmupMs: number,
  build: (worker: number) => Pick<RunMsg, 'socket' | 'rest' | 'churn'>,
  profile = true,
): Promise<{
  res: PhaseResult;
  cache: { hits: number; misses: number; hitRate: number | null } | null;
  genCpu: number;
  server: ReturnType<ProcSampler['summary']>;
  services: Record<string, number>;
  redisCommands: Map<string, number> | null;
}> {
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
        log(`profile of the measured window: ${relative(REPO_ROOT, c.profileFile!)}`);
      }
    }
  }
  c.sampler.sample();
  const redisAfter = await readCommandStats(c.redisUrl);
  const after = await scrapeMetrics(c.target.url);
  if (before && after) logWritePath(label, before, after);
  const genCpu = c.pool.pids.reduce((a, _, i) => a + (c.sampler.summary(`gen${i}`)?.avgCpuPct ?? 0), 0);
  const services: Record<string, number> = {};
  for (const name of ['redis', 'ferretdb']) {
    const s = c.sampler.summary(name);
    if (s) services[name] = s.avgCpuPct;
  }
  const redisCommands = redisBefore && redisAfter ? commandsBetween(redisBefore, redisAfter) : null;
  return { res, cache: before && after ? hitRateBetween(cacheCounts(before), cacheCounts(after)) : null, genCpu, server: c.sampler.summary('server'), services, redisCommands };
}

function planFor(o: Options): Plan {
  switch (o.scenario) {
    case 'direct':
      return directPlan(o.pairs);
    case 'calibrate':
      return { ...directPlan(o.pairs), fanout: 0 };
    case 'group':
      return groupPlan(o.groups, o.groupSize);
    case 'idle':
      return idlePlan(o.connections, o.senders, o.groupSize);
    case 'history':
      return historyPlan(o.conversations);
  }
}

interface RunDetail extends RunFigures {
  errorsByCode: Record<string, number>;
  services: Record<string, number>;
  coreBusy: Record<number, number>;
  notes: string[];
}

async function runOnce(o: Options, target: Target, round: number, services: Services, runId: string): Promise<RunDetail> {
  const notes: string[] = [];
  const serverEnv = isProject(target)
    ? {
        SOCKET_TENANT_EVENTS_PER_SECOND: '0',
        SOCKET_EVENTS_PER_SECOND: '1000',
        SOCKET_EVENTS_BURST: '2000',
        SOCKET_USER_WORK_BUDGET: '0',
        // The webhook receiver is on loopback over http (both targets get it: the same configuration).
        WEBHOOK_ALLOW_INSECURE_URLS: 'true',
        ...o.serverEnv,
      }
    : {};
  const sink = target === 'project+webhook' ? new WebhookSink() : null;
  const running = await startTarget(target, { services, core: o.pin ? SERVER_CORE : null, runId, cpuProf: o.cpuProf, profileWindow: o.cpuProfWindow, serverEnv });
  const forgetServer = onInterrupt(() => running.stop());
  const sampler = new ProcSampler({ server: running.pid, ...services.pids }, 250);
  sampler.start();
  const pool = new GeneratorPool(o.workers, o.pin ? GENERATOR_CORE : null);
  const forgetPool = onInterrupt(() => pool.close());
  pool.pids.forEach((pid, i) => sampler.add(`gen${i}`, pid));
  const progress = new Progress();
  try {
    const plan = planFor(o);
    const prov = isProject(target) ? await provisionProject(plan, running, log) : provisionBaseline(plan);
    if (o.e2e === 'v2') prov.senderContents = isProject(target) ? await provisionMlsProject(plan, running.url, prov, log) : await mlsBaselineEnvelopes(plan, prov);
    if (sink) {
      await addWebhookEndpoint(running.url, prov.apiKey!, await sink.start());
      log(`${target} r${round}: webhook endpoint subscribed to message.new (receiver on loopback)`);
    }
    const slices = sliceForWorkers(plan, o.workers);
    const profileFile = o.cpuProfWindow ? join(OUT_DIR, 'profiles', `${runId}-${target.replace('+', '')}-window.cpuprofile`) : null;
    const c: Ctx = { o, target: running, plan, prov, pool, slices, sampler, progress, profileFile, redisUrl: services.redisUrl };
    const templates = makeEnvelopes({ count: 4, recipients: plan.payloadRecipients });

    await new Promise((r) => setTimeout(r, 1000));
    sampler.sample();
    const rssBefore = sampler.latestRssBytes('server');
    const connectTimeout = Math.max(60_000, (plan.socketUsers.length / Math.max(1, o.connectRate)) * 1000 * 2 + 30_000);
    const conn = await pool.connect(
      slices.map((sl, w) => ({
        workerId: w,
        url: running.url,
        tokens: plan.socketUsers.slice(sl.socketFrom, sl.socketTo).map((u) => prov.tokens[u]!),
        connectPerSecond: Math.max(1, o.connectRate / o.workers),
        connectTimeoutMs: 20_000,
        client: o.client,
      })),
      connectTimeout,
    );
    await new Promise((r) => setTimeout(r, o.settleMs));
    if (conn.failed) notes.push(`${conn.failed} connections failed: ${JSON.stringify(conn.errors)}`);
    log(`${target} r${round}: ${conn.ok} sockets connected (p99 ${summarize(conn.connect).p99} ms)`);
    const figures: Record<string, number | null> = {};
    let discarded: string | undefined;
    let errorsByCode: Record<string, number> = { ...conn.errors };
    let servicesCpu: Record<string, number> = {};

    if (o.scenario === 'history') {
      const fillDurationMs = Math.min(180_000, Math.ceil((o.conversations * o.fillPerConversation * 1000) / o.fillRate));
      const fill = await runPhase(c, `${target} r${round} fill`, fillDurationMs, 0, (w) => ({ socket: socketPhases(c, o.fillRate, fillDurationMs, templates)[w] }), false);
      figures.fillAckP99 = summarize(fill.res.ack).p99 || null;
      const fillErrors = errorCount(fill.res.errors);
      if (fillErrors) notes.push(`fill: ${fillErrors} send errors ${JSON.stringify(fill.res.errors)}`);
      const readerOf = (conv: number) => ({ path: `/v1/conversations/${prov.conversationIds[conv]}/messages?limit=${o.limit}`, token: prov.tokens[plan.conversations[conv]!.members[0]!]! });
      const coldReaders = plan.conversations.map((_, i) => readerOf(i));
      const coldMs = Math.ceil((coldReaders.length * 1000) / o.readRate);
      const cold = await runPhase(c, `${target} r${round} cold reads`, coldMs, 0, (w) => ({ rest: restPhases(c, coldReaders, o.readRate, coldMs)[w] }), false);
      const hot = coldReaders.slice(0, Math.max(1, Math.min(o.hot, coldReaders.length)));
      const warmupMs = Math.max(o.warmupMs, Math.ceil((hot.length * 1000) / o.readRate) + 500);
      const warmMs = warmupMs + o.durationMs;
      const warm = await runPhase(c, `${target} r${round} warm reads`, warmMs, warmupMs, (w) => ({ rest: restPhases(c, hot, o.readRate, warmMs)[w] }));
      const cs = summarize(cold.res.ack);
      const ws = summarize(warm.res.ack);
      const answered = (r: PhaseResult) => r.acked;
      Object.assign(figures, {
        coldRate: answered(cold.res) / (coldMs / 1000),
        coldP50: cs.count ? cs.p50 : null,
        coldP99: cs.count ? cs.p99 : null,
        coldMax: cs.count ? cs.max : null,
        coldHitPct: cold.cache?.hitRate != null ? cold.cache.hitRate * 100 : null,
        warmRate: answered(warm.res) / (o.durationMs / 1000),
        warmP50: ws.count ? ws.p50 : null,
        warmP99: ws.count ? ws.p99 : null,
        warmMax: ws.count ? ws.max : null,
        warmHitPct: warm.cache?.hitRate != null ? warm.cache.hitRate * 100 : null,
        errors: errorCount(cold.res.errors) + errorCount(warm.res.errors),
        serverCpu: warm.server?.avgCpuPct ?? null,
        genCpu: warm.genCpu,
      });
      errorsByCode = { ...errorsByCode, ...prefixKeys('fill:', fill.res.errors), ...prefixKeys('cold:', cold.res.errors), ...prefixKeys('warm:', warm.res.errors) };
      servicesCpu = warm.services;
      discarded = saturation(o, o.readRate, warm.res.sent, o.durationMs / 1000, warm.genCpu, summarize(warm.res.lag).p99);
    } else {
      let memPerConnKB: number | null = null;
      if (o.scenario === 'idle') {
        sampler.sample(); // after --settle: the connection burst is over
        memPerConnKB = conn.ok ? (sampler.latestRssBytes('server') - rssBefore) / conn.ok / 1024 : null;
      }
      const churn = o.scenario === 'idle' ? o.churn : 0;
      const p = await runPhase(c, `${target} r${round} ${o.scenario}`, o.durationMs, o.warmupMs, (w) => {
        const phase = socketPhases(c, o.rate, o.durationMs, templates)[w]!;
        const fromSocket = phase.senders.reduce((m, s) => Math.max(m, s.socket + 1), 0);
        return { socket: phase, churn: churn ? { perSecond: churn / o.workers, fromSocket } : undefined };
      });
      const windowS = (o.durationMs - o.warmupMs) / 1000;
      const ack = summarize(p.res.ack);
      const e2e = summarize(p.res.e2e);
      const lag = summarize(p.res.lag);
      errorsByCode = { ...errorsByCode, ...p.res.errors };
      servicesCpu = p.services;
      // Without client_msg_id deliveries cannot be matched to sends: no delivered % then.
      const expected = o.noClientMsgId ? 0 : p.res.sent * plan.fanout;
      if (o.scenario === 'idle') {
        Object.assign(figures, {
          connections: conn.ok,
          connectP99: summarize(conn.connect).p99,
          memPerConnKB,
          serverRssMb: p.server?.maxRssMb ?? null,
          churnRate: p.res.churned / (o.durationMs / 1000),
          reconnectP99: summarize(p.res.reconnect).p99 || null,
          presenceRate: p.res.presenceEvents / (o.durationMs / 1000),
          ackP99: ack.count ? ack.p99 : null,
          e2eP99: e2e.count ? e2e.p99 : null,
          errors: errorCount(p.res.errors) + conn.failed,
          serverCpu: p.server?.avgCpuPct ?? null,
          genCpu: p.genCpu,
        });
      } else {
        Object.assign(figures, {
          sendRate: p.res.sent / windowS,
          ackRate: p.res.acked / windowS,
          deliveryRate: p.res.delivered / windowS,
          ...latencyFigures('ack', ack),
          ...latencyFigures('e2e', e2e),
          errors: errorCount(p.res.errors) + conn.failed,
          deliveredPct: expected ? (100 * p.res.delivered) / expected : null,
          serverCpu: p.server?.avgCpuPct ?? null,
          // Server CPU time over the whole phase (warm-up and drain included) per message acked in it: robust to the
          // machine's load (it counts the server's own CPU time, not wall time) and comparable across rates.
          serverUsPerMsg: p.server && p.res.ackedTotal ? (p.server.cpuSeconds * 1e6) / p.res.ackedTotal : null,
          // Every Redis command of the phase (the server's and, negligibly, the harness's scrape) per acked message.
          redisCmdsPerMsg: p.redisCommands && p.res.ackedTotal ? sumValues(p.redisCommands) / p.res.ackedTotal : null,
          serverRssMb: p.server?.maxRssMb ?? null,
          cacheHitPct: p.cache?.hitRate != null ? p.cache.hitRate * 100 : null,
          genCpu: p.genCpu,
          genLagP99: lag.p99,
          // Generator CPU per message (send, ack and deliveries included): what its core can drive when it has the core to itself.
          genUsPerMsg: p.res.sentTotal ? p.res.cpuUs / p.res.sentTotal : null,
        });
      }
      if (p.res.unexpectedDisconnects) notes.push(`${p.res.unexpectedDisconnects} unexpected disconnects`);
      if (p.redisCommands && p.res.ackedTotal) notes.push(`Redis commands per acked message: ${perMessage(p.redisCommands, p.res.ackedTotal)}`);
      discarded = saturation(o, o.rate, p.res.sent, windowS, p.genCpu, lag.p99);
    }
    if (running.exited()) discarded = `${discarded ? discarded + '; ' : ''}server exited during the run (log: ${running.logFile})`;
    if (sink) notes.push(`${sink.received} webhooks received by the end of the run`);
    return { target, round, figures, discarded, errorsByCode, services: servicesCpu, coreBusy: sampler.coreBusy(), notes };
  } finally {
    progress.stop();
    sampler.stop();
    await pool.close();
    forgetPool();
    await running.stop();
    forgetServer();
    await sink?.stop();
  }
}

function describe(o: Options): string {
  switch (o.scenario) {
    case 'direct':
      return `${o.pairs} 1:1 conversations (${o.pairs * 2} sockets), ${o.rate} msgs/s open loop, ${o.durationMs / 1000} s (${o.warmupMs / 1000} s warm-up not measured)`;
    case 'group':
      return `${o.groups} groups of ${o.groupSize} (${o.groups * o.groupSize} sockets), ${o.rate} msgs/s open loop = ${o.rate * (o.groupSize - 1)} deliveries/s, ${o.durationMs / 1000} s (${o.warmupMs / 1000} s warm-up)`;
    case 'idle':
      return `${o.connections} sockets, ${o.senders} of them sending ${o.rate} msgs/s in total, ${o.churn} disconnect+reconnect/s, ${o.durationMs / 1000} s`;
    case 'history':
      return `${o.conversations} 1:1 conversations filled with ${o.fillPerConversation} messages each at ${o.fillRate}/s; cold: each read once (limit ${o.limit}) at ${o.readRate}/s; warm: ${o.hot} hot conversations read at ${o.readRate}/s for ${o.durationMs / 1000} s`;
    case 'calibrate':
      return `generator against the no-op server at ${o.rate} msgs/s over ${o.pairs * 2} sockets for ${o.durationMs / 1000} s; ping-pong floors with ${o.pings} round trips`;
  }
}

export async function runScenario(o: Options, argv: string[]): Promise<number> {
  const machine = machineInfo(o);
  const stamp = machine.date.replace(/[:.]/g, '-').slice(0, 19);
  const command = `npm run -s bench -- ${argv.join(' ')}`;
  log(`${command}\n${describe(o)}\nmachine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memGiB} GiB, Node ${machine.node}, load ${machine.loadAvg.join(' ')}; ${machine.pinning}`);
  const needDb = o.targets.some((t) => t === 'B+db' || isProject(t));
  const services = await startServices({ needDb, store: o.store, log });
  const forgetServices = onInterrupt(() => services.stop());
  const runs: RunDetail[] = [];
  const extra: string[] = [];
  try {
    if (o.scenario === 'calibrate') {
      const tcp = await tcpFloor(o.pin ? SERVER_CORE : null, o.pings);
      const noop = await startTarget('noop', { services, core: o.pin ? SERVER_CORE : null, runId: `${stamp}-floor`, cpuProf: false, serverEnv: {} });
      let sio: LatencySummary;
      try {
        sio = await socketIoFloor(noop.url, o.pings);
      } finally {
        await noop.stop();
      }
      const floorRow = (name: string, s: LatencySummary) => [name, String(s.count), fmt(s.p50, 3), fmt(s.p95, 3), fmt(s.p99, 3), fmt(s.max, 2)];
      extra.push(
        '### Loopback ping-pong floors (closed loop, one in flight)\n\n' +
          markdownTable(['round trip', 'n', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'], [floorRow('TCP 1 byte echo', tcp), floorRow('socket.io emit + ack (no-op server)', sio)]),
      );
    }
    for (const { target, round } of runOrder(o.targets, o.rounds)) {
      const runId = `${stamp}-${o.scenario}-r${round}-${target.replace('+', '')}`.replace(/[^A-Za-z0-9_-]/g, '_');
      try {
        const r = await runOnce(o, target, round, services, runId);
        runs.push(r);
        log(`${target} r${round}: ${r.discarded ? `DISCARDED: ${r.discarded}` : 'ok'}${r.notes.length ? ` (${r.notes.join('; ')})` : ''}`);
      } catch (err) {
        log(`${target} r${round} failed: ${(err as Error).message}`);
        runs.push({ target, round, figures: {}, discarded: `failed: ${(err as Error).message.split('\n')[0]}`, errorsByCode: {}, services: {}, coreBusy: {}, notes: [] });
      }
    }
  } finally {
    await services.stop();
    forgetServices();
  }

  const metrics = metricsFor(o);
  const sections = [
    `## ${o.scenario}${o.label ? ` (${o.label})` : ''}`,
    [
      `- command: \`${command}\``,
      `- what: ${describe(o)}`,
      `- machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memGiB} GiB RAM, Node ${machine.node}, commit ${machine.commit}, load average at start ${machine.loadAvg.join(' ')}`,
      `- date: ${machine.date}`,
      `- pinning: ${machine.pinning}`,
      `- store: ${services.store}`,
      ...(machine.projectBuild ? [`- project build: ${machine.projectBuild}`] : []),
    ].join('\n'),
    ...extra,
  ];
  if (o.scenario === 'calibrate') {
    const ok = runs.filter((r) => !r.discarded);
    const best = Math.max(0, ...ok.map((r) => r.figures.ackRate ?? 0));
    const verdict = ok.length
      ? `The generator ${best >= o.rate * 0.95 ? 'reached' : 'did NOT reach'} ${o.rate.toLocaleString('en-US')} msgs/s on schedule (acked ${Math.round(best).toLocaleString('en-US')}/s): with the 2× margin it can drive targets up to ${Math.round(best / 2).toLocaleString('en-US')} msgs/s.`
      : `No run counted: the generator did not keep its schedule at ${o.rate.toLocaleString('en-US')} msgs/s (see status). Lower --rate, add --workers only if the generator's core has room, or run on a quiet machine.`;
    const usPerMsg = runs.map((r) => r.figures.genUsPerMsg).filter((x): x is number => typeof x === 'number');
    const projected = usPerMsg.length ? `\n\nGenerator cost: ${fmt(Math.min(...usPerMsg), 1)} µs of CPU per message (send + ack), so one free core could drive about ${Math.round(1e6 / Math.min(...usPerMsg)).toLocaleString('en-US')} msgs/s against the no-op server (a projection, not a measurement).` : '';
    sections.push(`### Generator against the no-op server\n\n${runsTable(runs, metrics)}\n\n${verdict}${projected}`);
  } else {
    sections.push(`### Medians and ratios\n\n${ratioTable(runs, metrics)}`);
    if (o.targets.includes('project') && o.targets.includes('project+webhook')) sections.push(`### Webhook endpoint active vs none\n\n${webhookRatioTable(runs, metrics)}`);
    sections.push(`### Every run, in order\n\n${runsTable(runs, metrics)}`);
  }
  const detail = runs
    .map((r) => `- ${r.target} r${r.round}: errors ${JSON.stringify(r.errorsByCode)}; services CPU ${JSON.stringify(r.services)}; core busy % ${JSON.stringify(r.coreBusy)}${r.notes.length ? `; ${r.notes.join('; ')}` : ''}`)
    .join('\n');
  sections.push(`### Details\n\n${detail}`);
  const md = sections.join('\n\n') + '\n';
  mkdirSync(OUT_DIR, { recursive: true });
  const base = join(OUT_DIR, `${stamp}-${o.scenario}`);
  writeFileSync(`${base}.md`, md);
  writeFileSync(`${base}.json`, JSON.stringify({ command, options: o, machine, store: services.store, runs }, null, 2));
  process.stdout.write(`\n${md}\nwritten: ${base}.md and .json\n`);
  return runs.some((r) => r.discarded?.startsWith('failed')) ? 1 : 0;
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
  log(`${phase}: send path, ms (mean / p50 / p99, count)`);
  for (const r of rows) log(`  ${r.label.padEnd(20)} ${f(r.meanMs)} ${f(r.p50Ms)} ${f(r.p99Ms)}  ${r.count}`);
}
