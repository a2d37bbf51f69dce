/* The measured phases of one run and the figures they give: the history scenario (fill, cold reads, warm
 * reads) and the socket scenarios (direct, group, calibrate: sends, acks, deliveries; idle: connections,
 * churn, memory). Each returns its figures, its errors by code and why the run is discarded, if it is. */
import type { SocketPhase } from './generator/messages';
import type { ConnectResult, PhaseResult } from './generator/pool';
import { summarize } from './lib/histogram';
import { errorCount, latencyFigures, perMessage, prefixKeys, saturation, sumValues } from './metrics';
import { restPhases, runPhase, socketPhases, type Ctx } from './phase';

export interface MeasureInput {
  c: Ctx;
  /** `<target> r<round>`: the phases' labels start with it. */
  label: string;
  templates: SocketPhase['templates'];
  conn: ConnectResult;
  /** The server's RSS before the sockets connected (idle: memory per connection). */
  rssBefore: number;
  /** Notes of the run, added to. */
  notes: string[];
}

export interface Measured {
  figures: Record<string, number | null>;
  errorsByCode: Record<string, number>;
  services: Record<string, number>;
  discarded: string | undefined;
}

export async function measureHistory({ c, label, templates, conn, notes }: MeasureInput): Promise<Measured> {
  const { o, plan, prov } = c;
  const fillDurationMs = Math.min(180_000, Math.ceil((o.conversations * o.fillPerConversation * 1000) / o.fillRate));
  const fill = await runPhase(c, `${label} fill`, fillDurationMs, 0, (w) => ({ socket: socketPhases(c, o.fillRate, fillDurationMs, templates)[w] }), false);
  const fillErrors = errorCount(fill.res.errors);
  if (fillErrors) notes.push(`fill: ${fillErrors} send errors ${JSON.stringify(fill.res.errors)}`);
  const readerOf = (conv: number) => ({ path: `/v1/conversations/${prov.conversationIds[conv]}/messages?limit=${o.limit}`, token: prov.tokens[plan.conversations[conv]!.members[0]!]! });
  const coldReaders = plan.conversations.map((_, i) => readerOf(i));
  const coldMs = Math.ceil((coldReaders.length * 1000) / o.readRate);
  const cold = await runPhase(c, `${label} cold reads`, coldMs, 0, (w) => ({ rest: restPhases(c, coldReaders, o.readRate, coldMs)[w] }), false);
  const hot = coldReaders.slice(0, Math.max(1, Math.min(o.hot, coldReaders.length)));
  const warmupMs = Math.max(o.warmupMs, Math.ceil((hot.length * 1000) / o.readRate) + 500);
  const warmMs = warmupMs + o.durationMs;
  const warm = await runPhase(c, `${label} warm reads`, warmMs, warmupMs, (w) => ({ rest: restPhases(c, hot, o.readRate, warmMs)[w] }));
  const cs = summarize(cold.res.ack);
  const ws = summarize(warm.res.ack);
  const answered = (r: PhaseResult) => r.acked;
  return {
    figures: {
      fillAckP99: summarize(fill.res.ack).p99 || null,
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
    },
    errorsByCode: { ...conn.errors, ...prefixKeys('fill:', fill.res.errors), ...prefixKeys('cold:', cold.res.errors), ...prefixKeys('warm:', warm.res.errors) },
    services: warm.services,
    discarded: saturation(o, o.readRate, warm.res.sent, o.durationMs / 1000, warm.genCpu, summarize(warm.res.lag).p99),
  };
}

export async function measureSockets({ c, label, templates, conn, rssBefore, notes }: MeasureInput): Promise<Measured> {
  const { o, plan, sampler } = c;
  let memPerConnKB: number | null = null;
  if (o.scenario === 'idle') {
    sampler.sample(); // after --settle: the connection burst is over
    memPerConnKB = conn.ok ? (sampler.latestRssBytes('server') - rssBefore) / conn.ok / 1024 : null;
  }
  const churn = o.scenario === 'idle' ? o.churn : 0;
  const p = await runPhase(c, `${label} ${o.scenario}`, o.durationMs, o.warmupMs, (w) => {
    const phase = socketPhases(c, o.rate, o.durationMs, templates)[w]!;
    const fromSocket = phase.senders.reduce((m, s) => Math.max(m, s.socket + 1), 0);
    return { socket: phase, churn: churn ? { perSecond: churn / o.workers, fromSocket } : undefined };
  });
  const windowS = (o.durationMs - o.warmupMs) / 1000;
  const ack = summarize(p.res.ack);
  const e2e = summarize(p.res.e2e);
  const lag = summarize(p.res.lag);
  // Without client_msg_id deliveries cannot be matched to sends: no delivered % then.
  const expected = o.noClientMsgId ? 0 : p.res.sent * plan.fanout;
  const figures: Record<string, number | null> =
    o.scenario === 'idle'
      ? {
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
        }
      : {
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
          // The delivery worker's CPU per message (project+webhook-worker), and the two processes together.
          workerUsPerMsg: p.worker && p.res.ackedTotal ? (p.worker.cpuSeconds * 1e6) / p.res.ackedTotal : null,
          totalUsPerMsg: p.server && p.res.ackedTotal ? ((p.server.cpuSeconds + (p.worker?.cpuSeconds ?? 0)) * 1e6) / p.res.ackedTotal : null,
          // Every Redis command of the phase (the server's and, negligibly, the harness's scrape) per acked message.
          redisCmdsPerMsg: p.redisCommands && p.res.ackedTotal ? sumValues(p.redisCommands) / p.res.ackedTotal : null,
          // Every database command the server sent in the phase (its own /metrics counter) per acked message.
          dbCmdsPerMsg: p.dbCommands && p.res.ackedTotal ? sumValues(p.dbCommands) / p.res.ackedTotal : null,
          ferretdbCpu: p.services.ferretdb ?? null,
          serverRssMb: p.server?.maxRssMb ?? null,
          cacheHitPct: p.cache?.hitRate != null ? p.cache.hitRate * 100 : null,
          genCpu: p.genCpu,
          genLagP99: lag.p99,
          // Generator CPU per message (send, ack and deliveries included): what its core can drive when it has the core to itself.
          genUsPerMsg: p.res.sentTotal ? p.res.cpuUs / p.res.sentTotal : null,
        };
  if (p.res.unexpectedDisconnects) notes.push(`${p.res.unexpectedDisconnects} unexpected disconnects`);
  if (p.redisCommands && p.res.ackedTotal) notes.push(`Redis commands per acked message: ${perMessage(p.redisCommands, p.res.ackedTotal)}`);
  if (p.dbCommands && p.res.ackedTotal) notes.push(`database commands per acked message: ${perMessage(p.dbCommands, p.res.ackedTotal)}`);
  return { figures, errorsByCode: { ...conn.errors, ...p.res.errors }, services: p.services, discarded: saturation(o, o.rate, p.res.sent, windowS, p.genCpu, lag.p99) };
}
