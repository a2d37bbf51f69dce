/**
 * The figures a bench run reports (run.ts): which metrics each scenario has, how raw counts become
 * them, and when a run does not count (the generator could not keep its schedule). Apart from run.ts
 * so the table of what is measured reads on its own.
 */
import type { LatencySummary } from './lib/histogram';
import type { MetricDef } from './lib/report';
import type { Options } from './options';

export const sumValues = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
export const perMessage = (m: Map<string, number>, n: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .map(([cmd, calls]) => `${cmd} ${(calls / n).toFixed(2)}`)
    .join(', ');

export const errorCount = (e: Record<string, number>) => Object.values(e).reduce((a, b) => a + b, 0);

export function latencyFigures(prefix: string, s: LatencySummary): Record<string, number | null> {
  return s.count ? { [`${prefix}P50`]: s.p50, [`${prefix}P95`]: s.p95, [`${prefix}P99`]: s.p99, [`${prefix}Max`]: s.max } : { [`${prefix}P50`]: null, [`${prefix}P95`]: null, [`${prefix}P99`]: null, [`${prefix}Max`]: null };
}

/** Why a run does not count, or undefined when it does. */
export function saturation(o: Options, intendedRate: number, sent: number, windowS: number, genCpu: number, lagP99Ms: number): string | undefined {
  const reasons: string[] = [];
  if (genCpu > o.maxGenCpu) reasons.push(`generator CPU ${genCpu.toFixed(0)}% > ${o.maxGenCpu}%`);
  if (lagP99Ms > o.maxLagMs) reasons.push(`generator schedule lag p99 ${lagP99Ms.toFixed(1)} ms > ${o.maxLagMs} ms`);
  if (intendedRate > 0 && windowS > 0 && sent / windowS < 0.95 * intendedRate) reasons.push(`sent ${(sent / windowS).toFixed(0)}/s < 95% of ${intendedRate}/s`);
  // With the generator's own CPU low, a lag means its core was taken by something else (a shared machine).
  return reasons.length ? `generator could not keep its schedule (${reasons.join('; ')})` : undefined;
}

export const METRICS: Record<string, MetricDef[]> = {
  send: [
    { key: 'sendRate', label: 'sent msgs/s', higherIsBetter: true, digits: 0 },
    { key: 'ackRate', label: 'durable acks/s', higherIsBetter: true, digits: 0 },
    { key: 'deliveryRate', label: 'deliveries/s', higherIsBetter: true, digits: 0 },
    { key: 'ackP50', label: 'ack p50 ms', higherIsBetter: false, digits: 2 },
    { key: 'ackP95', label: 'ack p95 ms', higherIsBetter: false, digits: 2 },
    { key: 'ackP99', label: 'ack p99 ms', higherIsBetter: false, digits: 2 },
    { key: 'ackMax', label: 'ack max ms', higherIsBetter: false, digits: 1 },
    { key: 'e2eP50', label: 'e2e p50 ms', higherIsBetter: false, digits: 2 },
    { key: 'e2eP95', label: 'e2e p95 ms', higherIsBetter: false, digits: 2 },
    { key: 'e2eP99', label: 'e2e p99 ms', higherIsBetter: false, digits: 2 },
    { key: 'e2eMax', label: 'e2e max ms', higherIsBetter: false, digits: 1 },
    { key: 'errors', label: 'errors', higherIsBetter: false, digits: 0 },
    { key: 'deliveredPct', label: 'delivered %', higherIsBetter: true, digits: 1 },
    { key: 'serverCpu', label: 'server CPU %', higherIsBetter: false, digits: 0 },
    { key: 'serverUsPerMsg', label: 'server CPU µs/msg', higherIsBetter: false, digits: 0 },
    { key: 'workerUsPerMsg', label: 'delivery worker CPU µs/msg', higherIsBetter: false, digits: 0 },
    { key: 'totalUsPerMsg', label: 'server + worker CPU µs/msg', higherIsBetter: false, digits: 0 },
    { key: 'redisCmdsPerMsg', label: 'Redis cmds/msg', higherIsBetter: false, digits: 1 },
    { key: 'dbCmdsPerMsg', label: 'DB cmds/msg', higherIsBetter: false, digits: 2 },
    { key: 'ferretdbCpu', label: 'FerretDB CPU %', higherIsBetter: false, digits: 1 },
    { key: 'serverRssMb', label: 'server RSS MB', higherIsBetter: false, digits: 0 },
    { key: 'cacheHitPct', label: 'cache hit %', higherIsBetter: true, digits: 1 },
    { key: 'genCpu', label: 'generator CPU %', higherIsBetter: false, digits: 0 },
    { key: 'genLagP99', label: 'gen lag p99 ms', higherIsBetter: false, digits: 2 },
    { key: 'genUsPerMsg', label: 'gen CPU µs/msg', higherIsBetter: false, digits: 1 },
  ],
  idle: [
    { key: 'connections', label: 'connections', higherIsBetter: true, digits: 0 },
    { key: 'connectP99', label: 'connect p99 ms', higherIsBetter: false, digits: 1 },
    { key: 'memPerConnKB', label: 'server KB/idle conn', higherIsBetter: false, digits: 1 },
    { key: 'serverRssMb', label: 'server RSS MB', higherIsBetter: false, digits: 0 },
    { key: 'churnRate', label: 'reconnects/s', higherIsBetter: true, digits: 0 },
    { key: 'reconnectP99', label: 'reconnect p99 ms', higherIsBetter: false, digits: 1 },
    { key: 'presenceRate', label: 'presence events/s', higherIsBetter: true, digits: 0 },
    { key: 'ackP99', label: 'ack p99 ms', higherIsBetter: false, digits: 2 },
    { key: 'e2eP99', label: 'e2e p99 ms', higherIsBetter: false, digits: 2 },
    { key: 'errors', label: 'errors', higherIsBetter: false, digits: 0 },
    { key: 'serverCpu', label: 'server CPU %', higherIsBetter: false, digits: 0 },
    { key: 'genCpu', label: 'generator CPU %', higherIsBetter: false, digits: 0 },
  ],
  history: [
    { key: 'coldRate', label: 'cold reads/s', higherIsBetter: true, digits: 0 },
    { key: 'coldP50', label: 'cold read p50 ms', higherIsBetter: false, digits: 2 },
    { key: 'coldP99', label: 'cold read p99 ms', higherIsBetter: false, digits: 2 },
    { key: 'coldMax', label: 'cold read max ms', higherIsBetter: false, digits: 1 },
    { key: 'coldHitPct', label: 'cold cache hit %', higherIsBetter: true, digits: 1 },
    { key: 'warmRate', label: 'warm reads/s', higherIsBetter: true, digits: 0 },
    { key: 'warmP50', label: 'warm read p50 ms', higherIsBetter: false, digits: 2 },
    { key: 'warmP99', label: 'warm read p99 ms', higherIsBetter: false, digits: 2 },
    { key: 'warmMax', label: 'warm read max ms', higherIsBetter: false, digits: 1 },
    { key: 'warmHitPct', label: 'warm cache hit %', higherIsBetter: true, digits: 1 },
    { key: 'errors', label: 'errors', higherIsBetter: false, digits: 0 },
    { key: 'serverCpu', label: 'server CPU % (warm)', higherIsBetter: false, digits: 0 },
    { key: 'fillAckP99', label: 'fill ack p99 ms', higherIsBetter: false, digits: 2 },
  ],
};

export function metricsFor(o: Options): MetricDef[] {
  return o.scenario === 'idle' ? METRICS.idle! : o.scenario === 'history' ? METRICS.history! : METRICS.send!;
}

export function prefixKeys(prefix: string, m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [prefix + k, v]));
}
