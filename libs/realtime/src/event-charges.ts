import { RateLimiter, WindowResult, WindowStep } from '@chat/quotas';
import { TenantId } from '@chat/tenancy';
import { TenantEventLimiter, UserWorkBudget } from './rate-limit';

export interface EventChargeRequest {
  tenantId: TenantId;
  userId: string;
  /** Work units for the user's budget; 0 charges none (a payload that failed validation). */
  units: number;
  /** The event sends a message: the tenant's message quota is charged ahead too (see QuotaService.prepayMessage). */
  message: boolean;
  /**
   * The send's claim of its message id (libs/chat send-claims: SET NX for ttlMs), made in the same
   * script after the message quota allowed it, so the batch needs no claim round trip of its own.
   */
  claim?: { key: string; ttlMs: number } | null;
}

export interface EventCharge {
  /** 0, or the milliseconds until the tenant's event window resets. */
  tenantWait: number;
  /** 0, or the milliseconds until the user's work window resets. */
  workWait: number;
  /** The message quota's step and its answer, when it was charged ahead (Redis only; null: the send charges it itself). */
  message: { step: WindowStep; result: WindowResult } | null;
  /** The claim's answer (true: this event claimed the id first); null when it was not made (refused before, no Redis, failed). */
  claimed: boolean | null;
  /** Gives back the work and message units this charge took: the event was refused after it (access check). */
  refund(): Promise<void>;
}

/** Anything that knows the message quota's window (QuotaService). */
export interface MessageQuotaSteps {
  messageStep(tenantId: string, n?: number): Promise<WindowStep>;
}

/**
 * The Redis side of a socket event's gate in one round trip: the tenant's event count, the user's work
 * budget and, for a send, the tenant's message quota, as one script (RateLimiter.consumeInOrder) run
 * in that order and stopping at the first refusal, so what a refused step and the steps after it
 * would have taken is never taken (as when they were three calls one after another). When Redis fails,
 * each keeps what it did alone: the tenant count goes in process, the work budget fails open, and the
 * message quota is left to the send. Without Redis (in-process mode), the calls are made one by one.
 * A send's claim (EventChargeRequest.claim) rides last in the script, only past an allowed message quota.
 */
export class EventCharges {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly tenants: TenantEventLimiter,
    private readonly work: UserWorkBudget,
    private readonly quotas: MessageQuotaSteps,
  ) {}

  async take(req: EventChargeRequest): Promise<EventCharge> {
    const work = req.units > 0 ? this.work.step(req.tenantId, req.userId, req.units) : null;
    if (!this.limiter.shared) return this.oneByOne(req, work);
    const tenant = this.tenants.step(req.tenantId);
    const message = req.message && req.units > 0 ? await this.quotas.messageStep(req.tenantId, 1) : null;
    const claim: WindowStep | null = message && req.claim ? { key: req.claim.key, kind: 'claim', n: 1, limit: 1, windowMs: req.claim.ttlMs } : null;
    const steps: WindowStep[] = [];
    if (tenant) steps.push(tenant.step);
    if (work) steps.push(work);
    if (message) steps.push(message);
    if (claim) steps.push(claim);
    const results = steps.length ? await this.limiter.consumeInOrder(steps) : [];
    if (!results) return this.charge(tenant?.fallback() ?? 0, 0, null, []);
    let i = 0;
    const tenantWait = tenant ? tenant.answer(results[i++]!) : 0;
    const workResult = work ? results[i++] : undefined;
    const messageResult = message ? results[i++] : undefined;
    const claimResult = claim ? results[i++] : undefined;
    const taken: Array<{ key: string; n: number }> = [];
    if (work && workResult?.allowed) taken.push({ key: work.key, n: work.n });
    if (message && messageResult?.allowed) taken.push({ key: message.key, n: message.n });
    const messageCharge = message && messageResult ? { step: message, result: messageResult } : null;
    return this.charge(tenantWait, workResult ? this.work.answer(workResult) : 0, messageCharge, taken, claimResult ? claimResult.allowed : null);
  }

  private async oneByOne(req: EventChargeRequest, work: WindowStep | null): Promise<EventCharge> {
    const tenantWait = await this.tenants.take(req.tenantId);
    if (tenantWait || !work) return this.charge(tenantWait, 0, null, []);
    const r = await this.limiter.consume(work.key, work.n, work.limit, work.windowMs);
    return this.charge(0, this.work.answer(r), null, r.allowed ? [{ key: work.key, n: work.n }] : []);
  }

  private charge(tenantWait: number, workWait: number, message: EventCharge['message'], taken: Array<{ key: string; n: number }>, claimed: boolean | null = null): EventCharge {
    return { tenantWait, workWait, message, claimed, refund: () => this.limiter.refund(taken) };
  }
}
