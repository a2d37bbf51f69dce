/* Runs a scenario: the services, the floors (calibrate), every target for every round in alternating
 * order (run-once.ts), and the report (scenario-report.ts) written to bench/out and printed. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tcpFloor, socketIoFloor } from './floors';
import type { LatencySummary } from './lib/histogram';
import { onInterrupt } from './lib/cleanup';
import { fmt, isProject, markdownTable, runOrder } from './lib/report';
import { machineInfo, SERVER_CORE } from './machine';
import type { Options } from './options';
import { log } from './progress';
import { runOnce, type RunDetail } from './run-once';
import { describeScenario, reportMarkdown } from './scenario-report';
import { OUT_DIR, startTarget } from './servers/launch';
import { startServices } from './services';

export async function runScenario(o: Options, argv: string[]): Promise<number> {
  const machine = machineInfo(o);
  const stamp = machine.date.replace(/[:.]/g, '-').slice(0, 19);
  const command = `npm run -s bench -- ${argv.join(' ')}`;
  log(`${command}\n${describeScenario(o)}\nmachine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memGiB} GiB, Node ${machine.node} (servers: ${machine.serverNode}), load ${machine.loadAvg.join(' ')}; ${machine.pinning}`);
  const needDb = o.targets.some((t) => t === 'B+db' || isProject(t));
  const services = await startServices({ needDb, store: o.store, log });
  const forgetServices = onInterrupt(() => services.stop());
  const runs: RunDetail[] = [];
  const extra: string[] = [];
  try {
    if (o.scenario === 'calibrate') {
      const tcp = await tcpFloor(o.pin ? SERVER_CORE : null, o.pings, o.node);
      const noop = await startTarget('noop', { services, core: o.pin ? SERVER_CORE : null, runId: `${stamp}-floor`, cpuProf: false, nodeOptions: o.nodeOptions, node: o.node, serverEnv: {} });
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

  const md = reportMarkdown(o, { command, machine, store: services.store, runs, extra });
  mkdirSync(OUT_DIR, { recursive: true });
  const base = join(OUT_DIR, `${stamp}-${o.scenario}`);
  writeFileSync(`${base}.md`, md);
  writeFileSync(`${base}.json`, JSON.stringify({ command, options: o, machine, store: services.store, runs }, null, 2));
  process.stdout.write(`\n${md}\nwritten: ${base}.md and .json\n`);
  return runs.some((r) => r.discarded?.startsWith('failed')) ? 1 : 0;
}
