import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { SecretBox } from '@chat/platform';
import { backoffDelayMs } from './backoff';
import { Clock } from '@chat/clock';
import { WebhookDeliveriesRepository } from './deliveries.repository';
import { WebhookEndpointsRepository } from './endpoints.repository';
import { signatureHeader } from './signature';
import { WebhookOutbox } from './webhook-outbox';
import { WebhookSender } from './webhook-sender';
import { WebhookDeliveryDoc, WebhookEndpointDoc } from './webhook.schemas';

export const WEBHOOK_SECRET_BOX = Symbol('WEBHOOK_SECRET_BOX');

/** Candidates read per scan; claims beyond the concurrency bounds wait for the next scan. */
const SCAN_BATCH = 100;
/** Attempts in flight on this node, all endpoints together. */
const NODE_CONCURRENCY = 32;

/** The secrets that sign now: the current one, and the previous one during its rotation overlap. */
export function signingSecrets(ep: WebhookEndpointDoc, box: SecretBox, now: number): string[] {
  const out = [box.open(ep.secret_enc)];
  if (ep.previous_secret_enc && ep.previous_secret_expires_at && new Date(ep.previous_secret_expires_at).getTime() > now) out.push(box.open(ep.previous_secret_enc));
  return out;
}

/**
 * Delivers outbox rows. Every node runs one: it scans for due rows, takes each with a lease (see
 * WebhookDeliveriesRepository.claim) so one attempt is made by one node, posts it, and records the
 * outcome: 2xx delivered; 410 turns the endpoint off; anything else retries with exponential backoff
 * and jitter until retry_until, then the row is dead (the dead-letter list). A node that dies holding
 * a lease loses it when the lease ends, and another node retries (same X-Webhook-Id).
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WebhookDispatcher');
  readonly nodeId = randomUUID();
  private timer?: NodeJS.Timeout;
  private scanning?: Promise<void>;
  private rescan = false;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly perEndpoint = new Map<string, number>();

  constructor(
    private readonly config: AppConfig,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly outbox: WebhookOutbox,
    private readonly sender: WebhookSender,
    @Inject(WEBHOOK_SECRET_BOX) private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.WEBHOOK_DISPATCH_INTERVAL_MS;
    if (!every) return;
    this.outbox.onRecorded(() => this.wake());
    this.timer = setInterval(() => this.wake(), every);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.scanning;
    // Attempts in flight finish (bounded by WEBHOOK_TIMEOUT_MS); an unfinished lease would only delay a retry.
    await Promise.allSettled([...this.inFlight]);
  }

  /** Tests drive time through this seam (backoff, retry window, leases). */

  /** Starts a scan now (one at a time; a wake during a scan asks for one more). */
  wake(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    this.scanning = this.scan()
      .catch((err: Error) => this.logger.warn(`webhook scan failed: ${err.message}`))
      .finally(() => {
        this.scanning = undefined;
        if (this.rescan) {
          this.rescan = false;
          this.wake();
        }
      });
  }

  /** One scan and every attempt it started (tests). */
  async runOnce(): Promise<void> {
    await this.scanning;
    await this.scan();
    await Promise.allSettled([...this.inFlight]);
  }

  private async scan(): Promise<void> {
    const now = new Date(this.clock.now());
    const limit = this.config.WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT;
    const busy = [...this.perEndpoint].filter(([, n]) => n >= limit).map(([id]) => id);
    const candidates = await this.deliveries.dueIds(now, SCAN_BATCH, busy);
    for (const c of candidates) {
      if (this.stopped || this.inFlight.size >= NODE_CONCURRENCY) return;
      if ((this.perEndpoint.get(c.endpoint_id) ?? 0) >= limit) continue;
      const claimed = await this.deliveries.claim(c._id, now, this.config.WEBHOOK_LEASE_MS, this.nodeId);
      if (!claimed) continue; // another node has it
      this.track(claimed);
    }
  }

  private track(d: WebhookDeliveryDoc): Promise<void> {
    this.perEndpoint.set(d.endpoint_id, (this.perEndpoint.get(d.endpoint_id) ?? 0) + 1);
    const run = this.attempt(d)
      .catch((err: Error) => this.logger.error(`webhook attempt ${d._id} failed: ${err.message}`))
      .finally(() => {
        this.inFlight.delete(run);
        const n = (this.perEndpoint.get(d.endpoint_id) ?? 1) - 1;
        if (n > 0) this.perEndpoint.set(d.endpoint_id, n);
        else this.perEndpoint.delete(d.endpoint_id);
        // A freed slot may unblock a row of the same endpoint that the scan skipped.
        this.wake();
      });
    this.inFlight.add(run);
    return run;
  }

  /** Claims one row and attempts it at once (the test ping); null when another node holds it. */
  async deliverNow(id: string): Promise<WebhookDeliveryDoc | null> {
    const claimed = await this.deliveries.claim(id, new Date(this.clock.now()), this.config.WEBHOOK_LEASE_MS, this.nodeId);
    if (!claimed) return null;
    await this.track(claimed);
    return claimed;
  }

  private async attempt(d: WebhookDeliveryDoc): Promise<void> {
    const ep = await this.endpoints.find(d.endpoint_id);
    const startedAt = this.clock.now();
    if (!ep || !ep.active) {
      await this.deliveries.finish(d._id, this.nodeId, { status: 'cancelled', last_error: ep ? 'endpoint is inactive' : 'endpoint was deleted', updated_at: new Date(startedAt) });
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
    const attempt = d.attempts + 1;
    const now = this.clock.now();
    await this.deliveries.recordAttempt({
      delivery_id: d._id,
      endpoint_id: d.endpoint_id,
      tenant_id: d.tenant_id,
      attempt,
      at: new Date(startedAt),
      status_code: r.statusCode,
      latency_ms: r.latencyMs,
      error: r.error,
      node: this.nodeId,
    });
    const common = { attempts: attempt, last_status_code: r.statusCode, last_error: r.error, updated_at: new Date(now) };
    if (r.statusCode !== null && r.statusCode >= 200 && r.statusCode < 300) {
      await this.deliveries.finish(d._id, this.nodeId, { ...common, status: 'delivered', delivered_at: new Date(now) });
      return;
    }
    if (r.statusCode === 410) {
      // The receiver says the endpoint is gone for good: stop sending to it (an admin can turn it back on).
      await this.endpoints.update(ep._id, {}, { active: false, disabled_reason: 'receiver answered 410 Gone' });
      this.outbox.forget(ep.tenant_id);
      await this.deliveries.finish(d._id, this.nodeId, { ...common, status: 'dead' });
      await this.deliveries.cancelPending(d.endpoint_id, new Date(now));
      return;
    }
    // Retries go on until retry_until (the last one lands on it), then the row is a dead letter.
    const until = new Date(d.retry_until).getTime();
    if (now >= until) {
      await this.deliveries.finish(d._id, this.nodeId, { ...common, status: 'dead' });
      return;
    }
    const next = Math.min(until, now + backoffDelayMs(attempt, this.config.WEBHOOK_BACKOFF_BASE_MS, this.config.WEBHOOK_BACKOFF_MAX_MS));
    await this.deliveries.finish(d._id, this.nodeId, { ...common, next_attempt_at: new Date(next) });
  }
}
