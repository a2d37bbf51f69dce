/* One run of a scenario against one target: start the target and the generators, provision who talks to
 * whom, connect the sockets, measure (measure.ts), and stop it all again, whatever happened. */
import { join } from 'node:path';
import { makeEnvelopes } from './envelopes';
import { GeneratorPool } from './generator/pool';
import { onInterrupt } from './lib/cleanup';
import { summarize } from './lib/histogram';
import { ProcSampler } from './lib/proc';
import { hasWebhook, isProject, type RunFigures, type Target } from './lib/report';
import { webhookOutcomes } from './lib/webhook-outcomes';
import { WebhookSink } from './lib/webhook-sink';
import { GENERATOR_CORE, SERVER_CORE } from './machine';
import { measureHistory, measureSockets, type MeasureInput } from './measure';
import type { Options } from './options';
import type { Ctx } from './phase';
import { log, Progress } from './progress';
import { directPlan, groupPlan, historyPlan, idlePlan, sliceForWorkers, type Plan } from './scenarios/plan';
import { addWebhookEndpoint, provisionBaseline, provisionProject } from './scenarios/provision';
import { mlsBaselineEnvelopes, provisionMlsProject } from './scenarios/provision-mls';
import { childPids, OUT_DIR, startTarget } from './servers/launch';
import type { Services } from './services';

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

export interface RunDetail extends RunFigures {
  errorsByCode: Record<string, number>;
  services: Record<string, number>;
  coreBusy: Record<number, number>;
  notes: string[];
}

export async function runOnce(o: Options, target: Target, round: number, services: Services, runId: string): Promise<RunDetail> {
  const notes: string[] = [];
  const serverEnv = isProject(target)
    ? {
        SOCKET_TENANT_EVENTS_PER_SECOND: '0',
        SOCKET_EVENTS_PER_SECOND: '1000',
        SOCKET_EVENTS_BURST: '2000',
        SOCKET_USER_WORK_BUDGET: '0',
        // The webhook receiver is on loopback over http (both targets get it: the same configuration).
        WEBHOOK_ALLOW_INSECURE_URLS: 'true',
        ...(target === 'project+webhook-worker' ? { WEBHOOK_DELIVERY_WORKER: 'true' } : {}),
        ...o.serverEnv,
      }
    : {};
  const sink = hasWebhook(target) ? new WebhookSink(o.webhookReceiver, o.webhookSlowMs) : null;
  const running = await startTarget(target, { services, core: o.pin ? SERVER_CORE : null, runId, cpuProf: o.cpuProf, profileWindow: o.cpuProfWindow, nodeOptions: o.nodeOptions, node: o.node, serverEnv });
  const forgetServer = onInterrupt(() => running.stop());
  const sampler = new ProcSampler({ server: running.pid, ...services.pids }, 250);
  // The all-in-one's delivery worker (WEBHOOK_DELIVERY_WORKER) is counted apart: the send path's CPU and the total.
  const worker = target === 'project+webhook-worker' ? childPids(running.pid)[0] : undefined;
  if (worker) sampler.add('worker', worker);
  else if (target === 'project+webhook-worker') notes.push('no delivery worker process found: its CPU is not counted');
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
      log(`${target} r${round}: webhook endpoint subscribed to message.new (receiver on loopback: ${sink.mode})`);
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
    const input: MeasureInput = { c, label: `${target} r${round}`, templates, conn, rssBefore, notes };
    const { figures, errorsByCode, services: servicesCpu, discarded: saturated } = o.scenario === 'history' ? await measureHistory(input) : await measureSockets(input);
    const discarded = running.exited() ? `${saturated ? saturated + '; ' : ''}server exited during the run (log: ${running.logFile})` : saturated;
    if (sink) notes.push(sink.describe(), await webhookOutcomes(services.mongoUri, running.dbName));
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
