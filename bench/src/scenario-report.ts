/* The report of a scenario (Markdown, as bench/RESULTS.md takes it): what was run and on what machine,
 * the medians and ratios per target (or, for calibrate, whether the generator kept its schedule), every
 * run in order, and each run's details. */
import { fmt, hasWebhook, ratioTable, runsTable, webhookRatioTable } from './lib/report';
import type { Machine } from './machine';
import { metricsFor } from './metrics';
import type { Options } from './options';
import type { RunDetail } from './run-once';

export function describeScenario(o: Options): string {
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

export function reportMarkdown(o: Options, { command, machine, store, runs, extra }: { command: string; machine: Machine; store: string; runs: RunDetail[]; extra: string[] }): string {
  const metrics = metricsFor(o);
  const sections = [
    `## ${o.scenario}${o.label ? ` (${o.label})` : ''}`,
    [
      `- command: \`${command}\``,
      `- what: ${describeScenario(o)}`,
      `- machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memGiB} GiB RAM, Node ${machine.node} (harness and generator), commit ${machine.commit}, load average at start ${machine.loadAvg.join(' ')}`,
      `- date: ${machine.date}`,
      `- pinning: ${machine.pinning}`,
      `- store: ${store}`,
      `- server node (every target): ${machine.serverNode}`,
      `- server node flags (every target): ${o.nodeOptions.length ? o.nodeOptions.join(' ') : 'none'}${o.serverEnv.NODE_OPTIONS ? `; project only (--server-env NODE_OPTIONS): ${o.serverEnv.NODE_OPTIONS}` : ''}`,
      ...(o.targets.some(hasWebhook) ? [`- webhook receiver: ${o.webhookReceiver}${o.webhookReceiver === 'slow' ? ` (204 after ${o.webhookSlowMs} ms)` : ''}`] : []),
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
    if (o.targets.includes('project') && o.targets.some(hasWebhook)) sections.push(`### Webhook endpoint active vs none\n\n${webhookRatioTable(runs, metrics)}`);
    sections.push(`### Every run, in order\n\n${runsTable(runs, metrics)}`);
  }
  const detail = runs
    .map((r) => `- ${r.target} r${r.round}: errors ${JSON.stringify(r.errorsByCode)}; services CPU ${JSON.stringify(r.services)}; core busy % ${JSON.stringify(r.coreBusy)}${r.notes.length ? `; ${r.notes.join('; ')}` : ''}`)
    .join('\n');
  sections.push(`### Details\n\n${detail}`);
  return sections.join('\n\n') + '\n';
}
