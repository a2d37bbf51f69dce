/**
 * A load generator process (started by the orchestrator with an IPC channel). It opens the sockets it
 * is given, then runs phases on command: open-loop sends over socket.io and/or open-loop REST reads,
 * with optional presence churn. Every latency is counted from the intended send time. Each phase
 * ends by itself: the schedule is finite and draining is bounded by drainMs.
 */
import { Agent, request } from 'node:http';
import { io, Socket } from 'socket.io-client';
import { encodeHistogram, newHistogram, recordMicros, type Histogram } from '../lib/histogram';
import { dueUntil, intendedOffsetMs, makeClientMsgId, nowUs, ownDue, parseClientMsgId, totalMessages } from '../lib/schedule';
import { ackError, deliveredClientMsgId, EVENTS } from '../protocol';
import type { EncryptedMessageContent } from '../../../libs/sdk/src/crypto';
import { leanAckError, leanClientMsgId, LeanSocket } from './lean-client';
import type { FromWorker, InitMsg, RestPhase, RunMsg, SocketPhase, ToWorker } from './messages';

let init: InitMsg;
/** One connection, through socket.io-client or the lean client (InitMsg.client). */
interface Conn {
  sio?: Socket;
  lean?: LeanSocket;
  connected(): boolean;
  close(): void;
}
let sockets: Array<Conn | null> = [];
let closing = false;

const send = (m: FromWorker) => process.send?.(m);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);

/** Per-phase state shared by the delivery listener of every socket. */
let phase: {
  measureFromUs: number;
  measureToUs: number;
  delivered: number;
  deliveredAll: number;
  echoes: number;
  e2e: Histogram;
  presence: number;
  disconnects: number;
  /** Local socket that sent message k (to tell a sender's own echo from a delivery). */
  senderSocket: (k: number) => number;
} | null = null;

function onDelivered(socketIndex: number, clientMsgId: unknown): void {
  if (!phase) return;
  const id = parseClientMsgId(clientMsgId);
  if (!id) return;
  if (id.worker === init.workerId && phase.senderSocket(id.k) === socketIndex) {
    phase.echoes++;
    return;
  }
  phase.deliveredAll++;
  if (id.intendedUs < phase.measureFromUs || id.intendedUs > phase.measureToUs) return;
  phase.delivered++;
  recordMicros(phase.e2e, nowUs() - id.intendedUs);
}

/** A copy of the envelope whose wrapped keys name the conversation's members. */
function contentFor(template: EncryptedMessageContent, members: string[]): EncryptedMessageContent {
  const keys = template.encrypted_key;
  return { ...template, encrypted_key: members.map((user_id, i) => ({ ...keys[i % keys.length]!, user_id })) };
}

function openSocket(index: number, hist: Histogram | null, errors: Record<string, number>): Promise<boolean> {
  if (init.client === 'lean') return openLean(index, hist, errors);
  return new Promise((resolve) => {
    const t0 = nowUs();
    const s = io(init.url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: init.connectTimeoutMs,
      auth: { token: init.tokens[index] },
    });
    s.on(EVENTS.delivered, (p: unknown) => onDelivered(index, deliveredClientMsgId(p)));
    s.on(EVENTS.presence, () => phase && phase.presence++);
    s.once('connect', () => {
      if (hist) recordMicros(hist, nowUs() - t0);
      sockets[index] = { sio: s, connected: () => s.connected, close: () => s.close() };
      s.on('disconnect', (reason) => {
        if (phase && !closing && reason !== 'io client disconnect') phase.disconnects++;
      });
      resolve(true);
    });
    s.once('connect_error', (err: Error & { data?: { error?: { code?: string } } }) => {
      bump(errors, err.data?.error?.code ?? err.message ?? 'CONNECT_ERROR');
      s.close();
      resolve(false);
    });
  });
}

function openLean(index: number, hist: Histogram | null, errors: Record<string, number>): Promise<boolean> {
  return new Promise((resolve) => {
    const t0 = nowUs();
    let settled = false;
    const timer = setTimeout(() => fail('CONNECT_TIMEOUT'), init.connectTimeoutMs);
    const fail = (code: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      bump(errors, code);
      s.close();
      resolve(false);
    };
    const s: LeanSocket = new LeanSocket(init.url, init.tokens[index]!, {
      connect: () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (hist) recordMicros(hist, nowUs() - t0);
        sockets[index] = { lean: s, connected: () => s.connected, close: () => s.close() };
        resolve(true);
      },
      connectError: fail,
      disconnect: () => {
        if (phase && !closing) phase.disconnects++;
      },
      event: (name, raw) => {
        if (name === EVENTS.delivered) onDelivered(index, leanClientMsgId(raw));
        else if (name === EVENTS.presence && phase) phase.presence++;
      },
    });
  });
}

async function connectAll(msg: InitMsg): Promise<void> {
  init = msg;
  sockets = new Array(msg.tokens.length).fill(null);
  const hist = newHistogram();
  const errors: Record<string, number> = {};
  const gapMs = 1000 / Math.max(1, msg.connectPerSecond);
  const pending: Array<Promise<boolean>> = [];
  const t0 = performance.now();
  for (let i = 0; i < msg.tokens.length; i++) {
    const due = t0 + i * gapMs;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(openSocket(i, hist, errors));
  }
  const results = await Promise.all(pending);
  const ok = results.filter(Boolean).length;
  send({ type: 'connected', workerId: msg.workerId, ok, failed: results.length - ok, errors, connectHist: encodeHistogram(hist) });
}

async function runPhase(msg: RunMsg): Promise<void> {
  const startUs = msg.startUs;
  const measureFromUs = startUs + msg.warmupMs * 1000;
  const spec = msg.socket?.schedule ?? msg.rest?.schedule;
  const durationUs = (spec?.durationMs ?? 0) * 1000;
  const sp = msg.socket;
  // v2 senders carry their own sealed envelope (no key list to fill in); v1 copies a template.
  const contents: object[] = sp ? sp.senders.map((x, i) => x.content ?? contentFor(sp.templates[i % sp.templates.length]!, x.members)) : [];
  // The lean client sends pre-serialized text: the envelope is stringified once per sender, not per send.
  const rawHeads =
    sp && init.client === 'lean'
      ? sp.senders.map((x, i) => `["${EVENTS.send}",{"conversation_id":${JSON.stringify(x.conversation)},"content":${JSON.stringify(contents[i])}`)
      : [];
  phase = {
    measureFromUs,
    measureToUs: startUs + durationUs,
    delivered: 0,
    deliveredAll: 0,
    echoes: 0,
    e2e: newHistogram(),
    presence: 0,
    disconnects: 0,
    senderSocket: (k) => {
      const i = sp ? (k % sp.schedule.senders) - sp.from : -1;
      return sp && i >= 0 && i < sp.senders.length ? sp.senders[i]!.socket : -1;
    },
  };
  const ack = newHistogram();
  const lag = newHistogram();
  const reconnect = newHistogram();
  const intervalAck = newHistogram();
  const errors: Record<string, number> = {};
  let sent = 0;
  let sentTotal = 0;
  let acked = 0;
  let ackedMeasured = 0;
  let failed = 0;
  let outstanding = 0;
  // Intended send time of every request still waiting for its answer, by request number.
  const pending = new Map<number, number>();
  let nextRequest = 0;
  let lagMaxUs = 0;
  let churned = 0;
  let bytesRead = 0;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();

  const progress = setInterval(() => {
    send({
      type: 'progress',
      workerId: init?.workerId ?? 0,
      sent: sentTotal,
      acked,
      errors: failed,
      delivered: phase?.deliveredAll ?? 0,
      lagMaxMs: lagMaxUs / 1000,
      ackP99Ms: intervalAck.totalCount ? intervalAck.getValueAtPercentile(99) / 1000 : 0,
    });
    intervalAck.reset();
    lagMaxUs = 0;
  }, 500);

  const settle = (req: number, intendedUs: number, err: string | null) => {
    if (!pending.delete(req)) return; // already counted as unanswered at the end of the drain
    outstanding--;
    if (err) {
      failed++;
      if (intendedUs >= measureFromUs) bump(errors, err);
      return;
    }
    acked++;
    const us = nowUs() - intendedUs;
    recordMicros(intervalAck, us);
    if (intendedUs >= measureFromUs) {
      ackedMeasured++;
      recordMicros(ack, us);
    }
  };

  const sendSocket = (p: SocketPhase, k: number, intendedUs: number) => {
    const i = (k % p.schedule.senders) - p.from;
    const sender = p.senders[i]!;
    const s = sockets[sender.socket];
    if (!s || !s.connected()) {
      if (intendedUs >= measureFromUs) bump(errors, 'NOT_CONNECTED');
      failed++;
      return;
    }
    outstanding++;
    const req = nextRequest++;
    pending.set(req, intendedUs);
    if (s.lean) {
      const tail = p.omitClientMsgId ? '}]' : `,"client_msg_id":"${makeClientMsgId(init.workerId, k, intendedUs)}"}]`;
      s.lean.emitRaw(rawHeads[i] + tail, (raw) => settle(req, intendedUs, leanAckError(raw)));
      return;
    }
    s.sio!.emit(
      EVENTS.send,
      p.omitClientMsgId
        ? { conversation_id: sender.conversation, content: contents[i] }
        : { conversation_id: sender.conversation, client_msg_id: makeClientMsgId(init.workerId, k, intendedUs), content: contents[i] },
      (res: unknown) => settle(req, intendedUs, ackError(res)),
    );
  };

  let agent: Agent | null = null;
  const sendRest = (p: RestPhase, k: number, intendedUs: number) => {
    const reader = p.readers[(k % p.schedule.senders) - p.from]!;
    agent ??= new Agent({ keepAlive: true, maxSockets: p.maxSockets });
    outstanding++;
    const id = nextRequest++;
    pending.set(id, intendedUs);
    const req = request(`${init.url}${reader.path}`, { agent, headers: { authorization: `Bearer ${reader.token}` } }, (res) => {
      res.on('data', (c: Buffer) => (bytesRead += c.length));
      res.on('end', () => settle(id, intendedUs, res.statusCode === 200 ? null : `HTTP_${res.statusCode}`));
    });
    req.on('error', (err) => settle(id, intendedUs, `HTTP_${(err as NodeJS.ErrnoException).code ?? 'ERROR'}`));
    req.end();
  };

  // Presence churn: disconnect one socket and reconnect it, at a fixed rate, round-robin.
  let churnTimer: NodeJS.Timeout | null = null;
  if (msg.churn && msg.churn.perSecond > 0 && sockets.length > msg.churn.fromSocket) {
    let next = msg.churn.fromSocket;
    churnTimer = setInterval(() => {
      const i = next;
      next = next + 1 >= sockets.length ? msg.churn!.fromSocket : next + 1;
      const s = sockets[i];
      if (!s) return;
      sockets[i] = null;
      s.close();
      churned++;
      void openSocket(i, reconnect, errors);
    }, 1000 / msg.churn.perSecond);
  }

  const p = msg.socket ?? msg.rest;
  if (p && spec) {
    const total = totalMessages(spec);
    let cursor = 0;
    const waitStart = (startUs - nowUs()) / 1000;
    if (waitStart > 0) await sleep(waitStart);
    await new Promise<void>((done) => {
      const tick = () => {
        const now = nowUs();
        const until = dueUntil(spec, (now - startUs) / 1000);
        if (until > cursor) {
          for (const k of ownDue(spec, p.from, p.to, cursor, until)) {
            const intendedUs = startUs + intendedOffsetMs(spec, k) * 1000;
            const l = nowUs() - intendedUs;
            recordMicros(lag, l);
            if (l > lagMaxUs) lagMaxUs = l;
            sentTotal++;
            if (intendedUs >= measureFromUs) sent++;
            if (msg.socket) sendSocket(msg.socket, k, intendedUs);
            else sendRest(msg.rest!, k, intendedUs);
          }
          cursor = until;
        }
        if (cursor >= total) return done();
        // Sleep until the next message is due (timers fire no sooner than ~1 ms anyway).
        const waitMs = intendedOffsetMs(spec, cursor) - (nowUs() - startUs) / 1000;
        setTimeout(tick, Math.max(0, Math.min(waitMs, 50)));
      };
      tick();
    });
  } else {
    await sleep(durationUs / 1000);
  }
  if (churnTimer) clearInterval(churnTimer);

  // Drain: wait for outstanding acks, then for deliveries, bounded by drainMs.
  const drainUntil = performance.now() + msg.drainMs;
  const expectedDeliveries = () => (msg.socket ? sent * msg.fanout : 0);
  while (performance.now() < drainUntil && outstanding > 0) await sleep(20);
  while (performance.now() < drainUntil && msg.fanout > 0 && phase.delivered < expectedDeliveries()) await sleep(20);
  clearInterval(progress);
  // Unanswered at the end: an error, and in the latency histogram with the time waited so far (a lower
  // bound), so a server that stalls shows in the percentiles instead of vanishing from them.
  const endUs = nowUs();
  for (const intendedUs of pending.values()) {
    if (intendedUs < measureFromUs) continue;
    bump(errors, msg.rest ? 'NO_RESPONSE' : 'NO_ACK');
    recordMicros(ack, endUs - intendedUs);
  }
  pending.clear();
  (agent as Agent | null)?.destroy();

  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - wall0;
  send({
    type: 'result',
    workerId: init.workerId,
    phase: msg.phase,
    sent,
    acked: ackedMeasured,
    delivered: phase.delivered,
    echoes: phase.echoes,
    errors,
    sentTotal,
    ackedTotal: acked,
    ackHist: encodeHistogram(ack),
    e2eHist: encodeHistogram(phase.e2e),
    lagHist: encodeHistogram(lag),
    reconnectHist: encodeHistogram(reconnect),
    churned,
    presenceEvents: phase.presence,
    unexpectedDisconnects: phase.disconnects,
    windowUs: Math.max(0, durationUs - msg.warmupMs * 1000),
    cpuPct: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 1000) / 10,
    cpuUs: cpu.user + cpu.system,
    bytesRead,
  });
  phase = null;
}

process.on('message', (m: ToWorker) => {
  const fail = (err: unknown) => send({ type: 'error', workerId: init?.workerId ?? -1, message: (err as Error).stack ?? String(err) });
  if (m.type === 'init') connectAll(m).catch(fail);
  else if (m.type === 'run') runPhase(m).catch(fail);
  else if (m.type === 'close') {
    closing = true;
    for (const s of sockets) s?.close();
    setTimeout(() => process.exit(0), 200);
  }
});
// The orchestrator going away ends the generator too.
process.on('disconnect', () => process.exit(0));
