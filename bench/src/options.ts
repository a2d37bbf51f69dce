import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import type { Target } from './lib/report';
import { RECEIVER_MODES, type ReceiverMode } from './lib/webhook-sink';

/** Where the harness's FerretDB keeps its documents; null = PostgreSQL when one answers, else SQLite. */
export type Store = 'ferretdb-pg' | 'ferretdb-sqlite';
export const STORES: Store[] = ['ferretdb-pg', 'ferretdb-sqlite'];

export type Scenario = 'calibrate' | 'direct' | 'group' | 'idle' | 'history';
export const SCENARIOS: Scenario[] = ['calibrate', 'direct', 'group', 'idle', 'history'];

export interface Options {
  scenario: Scenario;
  targets: Target[];
  rounds: number;
  durationMs: number;
  warmupMs: number;
  drainMs: number;
  /** Pause between connecting and the first send, so connection work (presence, room joins) is done. */
  settleMs: number;
  workers: number;
  connectRate: number;
  rate: number;
  pairs: number;
  groups: number;
  groupSize: number;
  connections: number;
  senders: number;
  churn: number;
  conversations: number;
  fillPerConversation: number;
  fillRate: number;
  readRate: number;
  hot: number;
  limit: number;
  pings: number;
  /** Pin the server to core 0 and everything else to core 1 (needs taskset). */
  pin: boolean;
  cpuProf: boolean;
  /** Profile the server over the measured window only (inspector protocol), see lib/window-profiler.ts. */
  cpuProfWindow: boolean;
  build: boolean;
  /** Discard a run whose generator processes used more than this much of their core, in percent. */
  maxGenCpu: number;
  /** ...or whose schedule lag p99 (actual send time minus intended) exceeded this, in ms. */
  maxLagMs: number;
  serverEnv: Record<string, string>;
  /**
   * Node/V8 flags for every target's server process alike (B+db, the project and its forked delivery
   * worker, which inherits execArgv), e.g. `--max-semi-space-size=64`: a fair comparison changes both.
   */
  nodeOptions: string[];
  /**
   * The node binary every target's server runs on (B+db, the project and its forked delivery worker,
   * the no-op floor), absolute; null = the harness's own (process.execPath). E.g. the production
   * image's Node 24 from `npm run -s node:install` while the harness runs on the machine's node.
   */
  node: string | null;
  label: string;
  /** Diagnostic: send without client_msg_id (no end-to-end latency then). */
  noClientMsgId: boolean;
  /** Generator socket client: socket.io-client, or the lean one (same wire format, less CPU per message). */
  client: 'socket.io' | 'lean';
  /** FerretDB's backend for B+db and the project (both on the same store in one invocation). */
  store: Store | null;
  /**
   * E2E envelope the senders send: `v1` (per-recipient wrapped-key list, accepted for migration only)
   * or `v2` (MLS: one small envelope under the group's epoch key; provisioning builds a real MLS group
   * per conversation through the SDK).
   */
  e2e: 'v1' | 'v2';
  /** The webhook receiver of the `project+webhook*` targets: ok (204 at once), slow (204 after webhookSlowMs), fail (500), down (refused). */
  webhookReceiver: ReceiverMode;
  webhookSlowMs: number;
}

/** Per-scenario defaults: short, bounded runs that finish on their own. */
const DEFAULTS: Record<Scenario, Partial<Options>> = {
  calibrate: { targets: ['noop'], rate: 20_000, durationMs: 5_000, warmupMs: 1_000, pairs: 250 },
  direct: { rate: 10_000, pairs: 500 },
  group: { rate: 200, groups: 4, groupSize: 50 },
  idle: { rate: 20, connections: 5_000, senders: 20, churn: 50, connectRate: 1_000, groupSize: 20 },
  history: { rate: 0, conversations: 1_000, fillPerConversation: 60, fillRate: 3_000, readRate: 1_000, hot: 50 },
};

const BASE: Omit<Options, 'scenario'> = {
  targets: ['B', 'B+db', 'project'],
  rounds: 2,
  durationMs: 10_000,
  warmupMs: 2_000,
  drainMs: 5_000,
  settleMs: 3_000,
  workers: 1,
  connectRate: 500,
  rate: 1_000,
  pairs: 500,
  groups: 4,
  groupSize: 50,
  connections: 5_000,
  senders: 20,
  churn: 50,
  conversations: 1_000,
  fillPerConversation: 60,
  fillRate: 3_000,
  readRate: 1_000,
  hot: 50,
  limit: 50,
  pings: 2_000,
  pin: true,
  cpuProf: false,
  cpuProfWindow: false,
  build: false,
  maxGenCpu: 90,
  maxLagMs: 20,
  serverEnv: {},
  nodeOptions: [],
  node: null,
  label: '',
  noClientMsgId: false,
  // socket.io-client costs ~2x the CPU per message and cannot drive 2x the target from one core.
  client: 'lean',
  store: null,
  e2e: 'v1',
  webhookReceiver: 'ok',
  // Beyond the sender's default WEBHOOK_TIMEOUT_MS (10 s): every attempt times out.
  webhookSlowMs: 15_000,
};

/** "10s", "1500ms", "2m" or a bare number of seconds, in milliseconds. */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new Error(`not a duration: ${v}`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}

const NUMERIC: Record<string, keyof Options> = {
  rounds: 'rounds',
  workers: 'workers',
  'connect-rate': 'connectRate',
  rate: 'rate',
  pairs: 'pairs',
  groups: 'groups',
  'group-size': 'groupSize',
  connections: 'connections',
  senders: 'senders',
  churn: 'churn',
  conversations: 'conversations',
  'fill-per-conversation': 'fillPerConversation',
  'fill-rate': 'fillRate',
  'read-rate': 'readRate',
  hot: 'hot',
  limit: 'limit',
  pings: 'pings',
  'max-gen-cpu': 'maxGenCpu',
  'max-lag-ms': 'maxLagMs',
};
const DURATIONS: Record<string, keyof Options> = { duration: 'durationMs', warmup: 'warmupMs', drain: 'drainMs', settle: 'settleMs' };
const TARGETS: Target[] = ['noop', 'B', 'B+db', 'project', 'project+webhook', 'project+webhook-worker'];

/** Upper bounds that keep every run bounded in time and size. */
const LIMITS = { durationMs: 600_000, rounds: 20, workers: 8, connections: 20_000, rate: 200_000 };

export function parseArgs(argv: string[]): Options {
  const [scenario, ...rest] = argv;
  if (!scenario || !SCENARIOS.includes(scenario as Scenario)) throw new Error(`first argument must be one of ${SCENARIOS.join(', ')}`);
  const o: Options = { ...BASE, ...DEFAULTS[scenario as Scenario], scenario: scenario as Scenario, serverEnv: {}, nodeOptions: [] } as Options;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const [rawKey, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const flag = (name: string) => rawKey === name;
    if (flag('no-pin')) o.pin = false;
    else if (flag('cpu-prof')) o.cpuProf = true;
    else if (flag('cpu-prof-window')) o.cpuProfWindow = true;
    else if (flag('build')) o.build = true;
    else if (flag('no-client-msg-id')) o.noClientMsgId = true;
    else {
      const value = inline ?? rest[++i];
      if (value === undefined) throw new Error(`--${rawKey} needs a value`);
      if (NUMERIC[rawKey]) {
        const n = Number(value);
        if (!Number.isFinite(n) || n < 0) throw new Error(`--${rawKey} must be a non-negative number`);
        (o as any)[NUMERIC[rawKey]] = n;
      } else if (DURATIONS[rawKey]) (o as any)[DURATIONS[rawKey]] = parseDuration(value);
      else if (rawKey === 'targets') {
        const list = value.split(',').map((t) => t.trim()) as Target[];
        const bad = list.filter((t) => !TARGETS.includes(t));
        if (bad.length) throw new Error(`unknown target(s) ${bad.join(', ')}; choose from ${TARGETS.join(', ')}`);
        o.targets = list;
      } else if (rawKey === 'server-env') {
        const [k, v] = value.split(/=(.*)/s, 2);
        if (!k || v === undefined) throw new Error('--server-env takes KEY=VALUE');
        o.serverEnv[k] = v;
      } else if (rawKey === 'node-options') {
        const flags = value.split(/\s+/).filter(Boolean);
        const bad = flags.filter((f) => !f.startsWith('--'));
        if (bad.length) throw new Error(`--node-options takes node flags (each starting with --), got ${bad.join(' ')}`);
        o.nodeOptions.push(...flags);
      } else if (rawKey === 'node') {
        const path = resolve(value);
        try {
          accessSync(path, constants.X_OK);
        } catch {
          throw new Error(`--node: no executable at ${path} (npm run -s node:install prints the pinned Node 24's path)`);
        }
        o.node = path;
      } else if (rawKey === 'label') o.label = value;
      else if (rawKey === 'store') {
        if (!STORES.includes(value as Store)) throw new Error(`--store must be one of ${STORES.join(', ')}`);
        o.store = value as Store;
      } else if (rawKey === 'client') {
        if (value !== 'socket.io' && value !== 'lean') throw new Error('--client must be socket.io or lean');
        o.client = value;
      } else if (rawKey === 'e2e') {
        if (value !== 'v1' && value !== 'v2') throw new Error('--e2e must be v1 or v2');
        o.e2e = value;
      } else if (rawKey === 'webhook-receiver') {
        // `slow` or `slow:<duration>` (the delay before the 204).
        const [mode, delay] = value.split(/:(.*)/s, 2) as [ReceiverMode, string | undefined];
        if (!RECEIVER_MODES.includes(mode) || (delay !== undefined && mode !== 'slow')) throw new Error(`--webhook-receiver must be one of ${RECEIVER_MODES.join(', ')} (slow:<duration> sets the delay)`);
        o.webhookReceiver = mode;
        if (delay !== undefined) o.webhookSlowMs = parseDuration(delay);
      }
      else throw new Error(`unknown option --${rawKey}`);
    }
  }
  if (o.durationMs > LIMITS.durationMs) throw new Error(`--duration is capped at ${LIMITS.durationMs / 1000} s`);
  if (o.rounds < 1 || o.rounds > LIMITS.rounds) throw new Error(`--rounds must be 1..${LIMITS.rounds}`);
  if (o.workers < 1 || o.workers > LIMITS.workers) throw new Error(`--workers must be 1..${LIMITS.workers}`);
  if (o.connections > LIMITS.connections) throw new Error(`--connections is capped at ${LIMITS.connections}`);
  if (o.rate > LIMITS.rate) throw new Error(`--rate is capped at ${LIMITS.rate}`);
  if (o.warmupMs >= o.durationMs && o.scenario !== 'history') throw new Error('--warmup must be shorter than --duration');
  if (o.webhookSlowMs > 120_000) throw new Error('--webhook-receiver slow:<duration> is capped at 2m');
  if (o.groupSize < 2) throw new Error('--group-size must be at least 2');
  return o;
}
