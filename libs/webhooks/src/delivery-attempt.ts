import { AppConfig } from '@chat/config';
import { Clock } from '@chat/clock';
import { SecretBox } from '@chat/platform';
import { backoffDelayMs } from './backoff';
import { WebhookDeliveriesRepository } from './deliveries.repository';
import { DeliveredOutcomes, OUTCOMES_WAITING_MAX } from './delivered-outcomes';
import { EndpointBreakers } from './endpoint-breaker';
import { HeldRetries } from './held-retries';
import { ParkedEndpoints } from './parked-endpoints';
import { WebhookEndpointsRepository } from './endpoints.repository';
import { signatureHeader } from './signature';
import { signingSecrets } from './signing-secrets';
import { WebhookOutbox } from './webhook-outbox';
import { WebhookSender } from './webhook-sender';
import { WebhookDeliveryDoc, WebhookEndpointDoc } from './webhook.schemas';

/** What an attempt's outcome asks of the dispatcher that started it. */
export interface AttemptHost {
  readonly nodeId: string;
  /** A failed row stays leased to this node until `at` (Clock ms), retried by it then (HeldRetries). */
  hold(d: WebhookDeliveryDoc, owner: string, at: number): void;
  /** The endpoints' circuit closed: the rows this node keeps waiting for them are due now. */
  closed(endpointIds: string[]): void;
}

/**
 * One attempt of a claimed row: signs and posts it, then records the outcome: 2xx delivered (written
 * in batches, DeliveredOutcomes); 410 turns the endpoint off; anything else retries with exponential
 * backoff and jitter until retry_until, then the row is dead (the dead-letter list). Every outcome
 * but a 410 also goes to the endpoint's circuit breaker (EndpointBreakers), whose open circuit moves a
 * retry no earlier than its next probe.
 */
export class DeliveryAttempt {
  constructor(
    private readonly config: AppConfig,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly outbox: WebhookOutbox,
    private readonly sender: WebhookSender,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly delivered: DeliveredOutcomes,
    private readonly breakers: EndpointBreakers,
    private readonly held: HeldRetries,
    private readonly parking: ParkedEndpoints,
    private readonly host: AttemptHost,
  ) {}

  /** `answered` frees the attempt's slot (node and endpoint bounds) once the receiver answered; `probe`: the one attempt an open circuit let through. */
  async run(d: WebhookDeliveryDoc, ep: WebhookEndpointDoc | null, answered: () => void, probe = false): Promise<void> {
    const owner = d.lease_owner ?? '';
    const startedAt = this.clock.now();
    if (!ep || !ep.active) {
      await this.deliveries.finish(d, owner, { status: 'cancelled', last_error: ep ? 'endpoint is inactive' : 'endpoint was deleted', updated_at: new Date(startedAt) });
      return;
    }
    const body = JSON.stringify(d.payload);
    const timestamp = Math.floor(startedAt / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'chat-platform-webhooks/1',
      'x-webhook-id': d.event_id,
      'x-webhook-timestamp': String(timestamp),
      'x-webhook-signature': signatureHeader(signingSecrets(ep, this.box, startedAt), timestamp, body),
    };
    const r = await this.sender.post(ep.url, headers, body, this.config.WEBHOOK_TIMEOUT_MS);
    // The slot is free once the receiver answered, unless outcomes are already waiting to be written:
    // then it is held until this one is, so attempts never outrun the database (and their leases).
    if (this.delivered.size < OUTCOMES_WAITING_MAX) answered();
    const attempt = d.attempts + 1;
    const now = this.clock.now();
    const log = {
      delivery_id: d._id,
      endpoint_id: d.endpoint_id,
      tenant_id: d.tenant_id,
      attempt,
      at: new Date(startedAt),
      status_code: r.statusCode,
      latency_ms: r.latencyMs,
      error: r.error,
      node: this.host.nodeId,
    };
    const ok = r.statusCode !== null && r.statusCode >= 200 && r.statusCode < 300;
    const circuit = r.statusCode === 410 ? null : this.breakers.record(d.endpoint_id, d.tenant_id, ok, probe, now);
    if (circuit === 'closed') this.host.closed([d.endpoint_id]);
    if (circuit === 'opened') this.parking.opened(d.endpoint_id, d.tenant_id);
    if (ok) {
      // The common outcome: written with the others that finish meanwhile (a first attempt folded into its row: DeliveredOutcomes).
      await this.delivered.add({ row: d, owner, statusCode: r.statusCode!, log });
      return;
    }
    await this.deliveries.recordAttempt(log);
    const common = { attempts: attempt, last_status_code: r.statusCode, last_error: r.error, updated_at: new Date(now) };
    if (r.statusCode === 410) {
      // The receiver says the endpoint is gone for good: stop sending to it (an admin can turn it back on).
      await this.endpoints.update(ep._id, {}, { active: false, disabled_reason: 'receiver answered 410 Gone' });
      this.outbox.forget(ep.tenant_id);
      await this.deliveries.finish(d, owner, { ...common, status: 'dead' });
      await this.deliveries.cancelPending(d.endpoint_id, new Date(now));
      return;
    }
    // Retries go on until retry_until (the last one lands on it), then the row is a dead letter.
    const until = new Date(d.retry_until).getTime();
    if (now >= until) {
      await this.deliveries.finish(d, owner, { ...common, status: 'dead' });
    } else {
      // While the circuit is open, not before its probe: no attempt to the endpoint starts before then.
      const backoff = now + backoffDelayMs(attempt, this.config.WEBHOOK_BACKOFF_BASE_MS, this.config.WEBHOOK_BACKOFF_MAX_MS);
      const next = Math.min(until, Math.max(backoff, this.breakers.probeAt(d.endpoint_id) ?? 0));
      // While the circuit is open, the row is parked (released, drained by endpoint: ParkedEndpoints); else
      // it stays leased to this node until `next` (finish), and this node retries it then (HeldRetries).
      const parked = this.breakers.probeAt(d.endpoint_id) !== null ? this.parking.park(d.endpoint_id, until) : null;
      try {
        const mark = parked ? { parked: true, parked_bucket: parked.key, parked_slot: parked.slot } : {};
        await this.deliveries.finish(d, owner, { ...common, next_attempt_at: new Date(next), ...mark });
      } finally {
        parked?.done();
      }
      if (!parked) this.host.hold(d, owner, next);
    }
    if (circuit !== 'opened') return;
    // The endpoint failed again: its rows past their retry window are dead letters now, without an attempt each.
    const error = 'endpoint failing (circuit open): its retry window ended before a probe succeeded';
    this.held.remove(await this.parking.expire(d.endpoint_id, now, this.held.owners(d.endpoint_id), error));
  }
}
