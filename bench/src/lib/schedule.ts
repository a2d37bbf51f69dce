/**
 * Open-loop send schedule. Message k (k = 0 .. total-1) is due at k / rate seconds after the common
 * start and is sent by sender k mod senders, so the aggregate stream is evenly spaced whatever the
 * number of senders and workers. Latency is counted from this intended time, never from when the
 * generator got round to sending (a stalled server cannot hide its stall by slowing the generator).
 */
export interface ScheduleSpec {
  /** Messages per second, all senders together. */
  rate: number;
  durationMs: number;
  senders: number;
}

export function totalMessages(spec: ScheduleSpec): number {
  if (spec.rate <= 0 || spec.durationMs <= 0 || spec.senders <= 0) return 0;
  return Math.floor((spec.rate * spec.durationMs) / 1000);
}

/** Milliseconds after the start at which message k is due. */
export function intendedOffsetMs(spec: ScheduleSpec, k: number): number {
  return (k * 1000) / spec.rate;
}

/** Index (exclusive) of the last message due at elapsedMs: messages [from, dueUntil) are to be sent now. */
export function dueUntil(spec: ScheduleSpec, elapsedMs: number): number {
  if (elapsedMs < 0) return 0;
  return Math.min(totalMessages(spec), Math.floor((elapsedMs * spec.rate) / 1000) + 1);
}

export function senderOf(spec: ScheduleSpec, k: number): number {
  return k % spec.senders;
}

/** Splits n items into `parts` contiguous ranges [start, end) whose sizes differ by at most one. */
export function splitRanges(n: number, parts: number): Array<[number, number]> {
  const p = Math.max(1, Math.min(parts, Math.max(1, n)));
  const out: Array<[number, number]> = [];
  const base = Math.floor(n / p);
  const extra = n % p;
  let start = 0;
  for (let i = 0; i < p; i++) {
    const size = base + (i < extra ? 1 : 0);
    out.push([start, start + size]);
    start += size;
  }
  return out;
}

/**
 * The messages of one worker (owning senders [from, to)) due in [cursor, until): their indexes, in
 * order. Iterates over sender strides, not over every k, so a worker that owns few senders pays little.
 */
export function ownDue(spec: ScheduleSpec, from: number, to: number, cursor: number, until: number): number[] {
  const out: number[] = [];
  if (until <= cursor || to <= from) return out;
  const S = spec.senders;
  // Walk k from cursor to until, jumping over senders this worker does not own.
  let k = cursor;
  while (k < until) {
    const s = k % S;
    if (s < from) k += from - s;
    else if (s >= to) k += S - s + from;
    else {
      out.push(k);
      k++;
      continue;
    }
  }
  return out.filter((x) => x < until);
}

/** Client message id carrying the intended send time (µs of the monotonic clock, shared by every process on the host). */
export function makeClientMsgId(worker: number, k: number, intendedUs: number): string {
  return `b-${worker}-${k}-${Math.round(intendedUs)}`;
}

export function parseClientMsgId(id: unknown): { worker: number; k: number; intendedUs: number } | null {
  if (typeof id !== 'string') return null;
  const m = /^b-(\d+)-(\d+)-(\d+)$/.exec(id);
  if (!m) return null;
  return { worker: Number(m[1]), k: Number(m[2]), intendedUs: Number(m[3]) };
}

/** Monotonic clock in microseconds (CLOCK_MONOTONIC: the same in every process of the machine). */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
