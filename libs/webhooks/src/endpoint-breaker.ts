import { backoffDelayMs } from './backoff';

/**
 * Consecutive failed attempts after which an endpoint is open. More than one round of the attempts an
 * endpoint may have in flight at once (WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT, 4 by default): a blip (a
 * receiver restarting) fails a round of them together and should not stop the endpoint; a receiver
 * failing everything opens after a handful of attempts however many rows wait for it.
 */
export const BREAKER_THRESHOLD = 5;

interface State {
  tenantId: string;
  /** Consecutive failures while closed. */
  failures: number;
  /** Failed probes plus one (0 while closed): the backoff step of the next probe. */
  step: number;
  /** When the next probe may start (Clock ms); Infinity while closed. */
  probeAt: number;
  /** The probe has started and not ended yet. */
  probing: boolean;
}

/**
 * A per-node, in-memory circuit breaker per endpoint (as client-side breakers do; nothing shared between
 * nodes). After BREAKER_THRESHOLD consecutive failed attempts (any answer but 2xx and 410, a timeout, a
 * refused connection) the endpoint is open: no attempt to it starts on this node until the probe time,
 * backoffDelayMs(step) after the failure, when exactly one attempt (the probe) may start. A 2xx, the
 * probe's or any other, closes it; a failed probe opens it again with the next step. The rows waiting
 * meanwhile cost nothing: no claim, attempt log, outcome write nor POST each (issue 14).
 */
export class EndpointBreakers {
  private readonly states = new Map<string, State>();

  constructor(
    private readonly now: () => number,
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The endpoint is open and no attempt to it may start now (its probe is not due, or in flight). */
  blocked(endpointId: string, now = this.now()): boolean {
    const s = this.states.get(endpointId);
    return !!s && s.step > 0 && (s.probing || now < s.probeAt);
  }

  /** When the open endpoint's next probe may start (Clock ms); null when it is closed. */
  probeAt(endpointId: string): number | null {
    const s = this.states.get(endpointId);
    return s && s.step > 0 ? s.probeAt : null;
  }

  /**
   * An attempt to the endpoint is about to start: true if it may. Closed: always. Open: only the
   * probe, once its time has come, and then no other until it ends (probeEnded or an outcome).
   */
  admit(endpointId: string, now = this.now()): boolean {
    const s = this.states.get(endpointId);
    if (!s || s.step === 0) return true;
    if (s.probing || now < s.probeAt) return false;
    s.probing = true;
    return true;
  }

  /**
   * The outcome of an attempt: `ok` (2xx) closes the endpoint; a failure counts, opens it at the
   * threshold, and a failed probe (`probe`: the attempt admit() let through while open) opens it again
   * one step later. Returns what changed: 'closed' (it was open), 'opened' (at the threshold or by a
   * failed probe), or null.
   */
  record(endpointId: string, tenantId: string, ok: boolean, probe = false, now = this.now()): 'closed' | 'opened' | null {
    const s = this.states.get(endpointId);
    if (ok) {
      this.states.delete(endpointId);
      return s && s.step > 0 ? 'closed' : null;
    }
    if (!s) {
      this.states.set(endpointId, { tenantId, failures: 1, step: 0, probeAt: Infinity, probing: false });
      return BREAKER_THRESHOLD <= 1 ? this.open(this.states.get(endpointId)!, now) : null;
    }
    if (s.step === 0) {
      s.failures++;
      return s.failures >= BREAKER_THRESHOLD ? this.open(s, now) : null;
    }
    // Open: only the probe's failure moves it on (attempts that were in flight when it opened just end).
    return probe ? this.open(s, now) : null;
  }

  /** The probe ended without an outcome (its row was taken by another node, or no attempt was made): another may start. */
  probeEnded(endpointId: string): void {
    const s = this.states.get(endpointId);
    if (s) s.probing = false;
  }

  /**
   * The endpoint is open with its probe due at `at` (Clock ms), unless it is open already: this node took
   * over rows another node parked for it (ParkedEndpoints), and a dead receiver gets a probe, not a drain.
   */
  openAt(endpointId: string, tenantId: string, at: number): void {
    const s = this.states.get(endpointId);
    if (s && s.step > 0) return;
    this.states.set(endpointId, { tenantId, failures: BREAKER_THRESHOLD, step: 1, probeAt: at, probing: false });
  }

  /** Forgets the endpoints (all, or of a tenant, or one): they are closed (an endpoint changed; an admin replays). Returns those that were open. */
  reset(filter: { tenantId?: string; endpointId?: string } = {}): string[] {
    const opened: string[] = [];
    for (const [id, s] of this.states) {
      if (filter.tenantId !== undefined && s.tenantId !== filter.tenantId) continue;
      if (filter.endpointId !== undefined && id !== filter.endpointId) continue;
      if (s.step > 0) opened.push(id);
      this.states.delete(id);
    }
    return opened;
  }

  private open(s: State, now: number): 'opened' {
    s.step++;
    s.probing = false;
    s.probeAt = now + backoffDelayMs(s.step, this.baseMs, this.maxMs, this.random);
    return 'opened';
  }
}
