import type { EncryptedMessageContent } from '../../../libs/sdk/src/crypto';
import type { ScheduleSpec } from '../lib/schedule';

/** IPC between the orchestrator and a generator process. */

export interface InitMsg {
  type: 'init';
  workerId: number;
  /** http://127.0.0.1:PORT of the server under test. */
  url: string;
  /** One socket per token, in this order; indexes below are into this list. */
  tokens: string[];
  connectPerSecond: number;
  connectTimeoutMs: number;
  /** socket.io-client (default), or the lean client speaking the same wire format with less CPU. */
  client: 'socket.io' | 'lean';
}

export interface SocketPhase {
  schedule: ScheduleSpec;
  /** Global sender indexes [from, to) this worker sends for. */
  from: number;
  to: number;
  /** senders[s - from]: which local socket sends, to which conversation (and its members' user ids). */
  senders: Array<{ socket: number; conversation: string; members: string[]; content?: object }>;
  /**
   * Envelopes encrypted once before the run. The server requires a wrapped key for every member, so
   * each sender's copy gets its conversation's member ids written into `encrypted_key` (done once per
   * sender at phase start, never per send).
   */
  templates: EncryptedMessageContent[];
  /** (E2E v2) Each sender's own sealed envelope is in `senders[].content`; templates are not used then. */
  /** Send without client_msg_id (diagnostic: the server's retry lookup is skipped, deliveries cannot be matched). */
  omitClientMsgId?: boolean;
}

export interface RestPhase {
  schedule: ScheduleSpec;
  from: number;
  to: number;
  /** readers[s - from]: the GET path and the bearer token. */
  readers: Array<{ path: string; token: string }>;
  maxSockets: number;
}

export interface RunMsg {
  type: 'run';
  phase: string;
  /** Monotonic µs at which message 0 is due (the same for every worker). */
  startUs: number;
  /** Sends due before startUs + warmupMs are made but not measured. */
  warmupMs: number;
  /** After the last send, wait at most this long for acks and deliveries. */
  drainMs: number;
  /** Deliveries each measured send should produce (recipients per message), to stop draining early. */
  fanout: number;
  /** Total measured sends of all workers is unknown here: each worker drains its own acks and waits drainMs for deliveries at most. */
  socket?: SocketPhase;
  rest?: RestPhase;
  /** Disconnect and reconnect sockets [from, count) at this rate while the phase runs (presence churn). */
  churn?: { perSecond: number; fromSocket: number };
}

export interface ConnectedMsg {
  type: 'connected';
  workerId: number;
  ok: number;
  failed: number;
  errors: Record<string, number>;
  connectHist: string;
}

export interface ProgressMsg {
  type: 'progress';
  workerId: number;
  sent: number;
  acked: number;
  errors: number;
  delivered: number;
  lagMaxMs: number;
  ackP99Ms: number;
}

export interface ResultMsg {
  type: 'result';
  workerId: number;
  phase: string;
  /** Measured (after warm-up) counts. */
  sent: number;
  acked: number;
  delivered: number;
  /** The sender's own copy of its message (the project fans out to the whole conversation room). */
  echoes: number;
  errors: Record<string, number>;
  /** All sends, warm-up included. */
  sentTotal: number;
  /** All acks, warm-up and drain included (server CPU per message is over the whole phase). */
  ackedTotal: number;
  ackHist: string;
  e2eHist: string;
  lagHist: string;
  reconnectHist: string;
  churned: number;
  presenceEvents: number;
  unexpectedDisconnects: number;
  /** First and last measured intended send time (µs), for rates. */
  windowUs: number;
  /** This process's own CPU use over the phase, percent of one core. */
  cpuPct: number;
  /** CPU time this process used over the phase, µs. */
  cpuUs: number;
  bytesRead: number;
}

export type ToWorker = InitMsg | RunMsg | { type: 'close' };
export type FromWorker = ConnectedMsg | ProgressMsg | ResultMsg | { type: 'error'; workerId: number; message: string };
