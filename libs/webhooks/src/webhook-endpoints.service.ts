import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { AppError } from '@chat/errors';
import { ApplicationService, SecretBox } from '@chat/platform';
import { Clock } from '@chat/clock';
import { WebhookDeliveriesRepository } from './deliveries.repository';
import { EndpointScope, WebhookEndpointsRepository } from './endpoints.repository';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_TEST_EVENT, type WebhookDeliveryStatus } from '@chat/contracts';
import { newWebhookSecret } from './signature';
import { WEBHOOK_SECRET_BOX, WebhookDispatcher } from './webhook-dispatcher';
import { WebhookOutbox } from './webhook-outbox';
import { AttemptRecord, WebhookDeliveryDoc, WebhookEndpointDoc } from './webhook.schemas';

export interface EndpointInput {
  url?: string;
  events?: string[];
  active?: boolean;
  description?: string | null;
}

/**
 * Loopback, private, link-local and unique-local literals and localhost names: a tenant must not make
 * the platform post into its own network. (A public name that resolves to such an address is not caught
 * here: run the platform with egress rules for that; see docs/webhooks.md.)
 */
export function isInternalHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || h.endsWith('.internal') || h.endsWith('.local')) return true;
  if (isIP(h) === 4) {
    const [a, b] = h.split('.').map(Number) as [number, number];
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
  }
  if (isIP(h) === 6) return h === '::' || h === '::1' || /^(fc|fd|fe8|fe9|fea|feb)/.test(h) || h.startsWith('::ffff:');
  return false;
}

const KNOWN_EVENTS: ReadonlySet<string> = new Set(['*', ...WEBHOOK_EVENT_TYPES]);
/** A rotation that loses this many compare-and-sets in a row to other rotations answers 409. */
const ROTATE_ATTEMPTS = 5;

/** Endpoints of an application (admin API or an API key of that application), their secrets, deliveries and replays. */
@Injectable()
export class WebhookEndpointsService {

  constructor(
    private readonly config: AppConfig,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly applications: ApplicationService,
    private readonly outbox: WebhookOutbox,
    private readonly dispatcher: WebhookDispatcher,
    @Inject(WEBHOOK_SECRET_BOX) private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}


  /** The secret is in the result this once; afterwards only a rotation shows one. */
  async create(applicationId: string, input: EndpointInput, scope: EndpointScope = {}): Promise<{ endpoint: WebhookEndpointDoc; secret: string }> {
    const app = await this.applications.get(applicationId);
    if (app.status !== 'active' || (scope.tenantId && app.tenant_id !== scope.tenantId)) throw AppError.notFound('Application');
    const url = this.checkUrl(input.url);
    const events = this.checkEvents(input.events);
    const secret = newWebhookSecret();
    const endpoint = await this.endpoints.create({
      tenant_id: app.tenant_id,
      application_id: app._id.toHexString(),
      url,
      events,
      active: input.active ?? true,
      description: input.description ?? null,
      secret_enc: this.box.seal(secret),
      previous_secret_enc: null,
      previous_secret_expires_at: null,
      disabled_reason: null,
      deleted_at: null,
    });
    this.outbox.forget(endpoint.tenant_id);
    return { endpoint, secret };
  }

  async list(applicationId: string, scope: EndpointScope, cursor: string | undefined, limit: number): Promise<WebhookEndpointDoc[]> {
    return this.endpoints.list(applicationId, scope, cursor, limit);
  }

  async get(id: string, scope: EndpointScope = {}): Promise<WebhookEndpointDoc> {
    const ep = await this.endpoints.find(id, scope);
    if (!ep) throw AppError.notFound('Webhook endpoint');
    return ep;
  }

  async update(id: string, input: EndpointInput, scope: EndpointScope = {}): Promise<WebhookEndpointDoc> {
    const set: Partial<WebhookEndpointDoc> = {};
    if (input.url !== undefined) set.url = this.checkUrl(input.url);
    if (input.events !== undefined) set.events = this.checkEvents(input.events);
    if (input.description !== undefined) set.description = input.description;
    if (input.active !== undefined) {
      set.active = input.active;
      set.disabled_reason = null;
    }
    const ep = Object.keys(set).length ? await this.endpoints.update(id, scope, set) : await this.endpoints.find(id, scope);
    if (!ep) throw AppError.notFound('Webhook endpoint');
    this.outbox.forget(ep.tenant_id);
    return ep;
  }

  /** Stops deliveries at once; pending ones are cancelled (listing and replay stay possible for the record). */
  async remove(id: string, scope: EndpointScope = {}): Promise<WebhookEndpointDoc> {
    const now = new Date(this.clock.now());
    const ep = await this.endpoints.update(id, scope, { deleted_at: now, active: false });
    if (!ep) throw AppError.notFound('Webhook endpoint');
    this.outbox.forget(ep.tenant_id);
    await this.deliveries.cancelPending(ep._id.toHexString(), now);
    return ep;
  }

  /** New secret (shown once); the old one keeps signing too for graceSeconds, so receivers can switch without a gap. */
  async rotateSecret(id: string, graceSeconds = this.config.KEY_ROTATION_GRACE_SECONDS, scope: EndpointScope = {}): Promise<{ endpoint: WebhookEndpointDoc; secret: string }> {
    const secret = newWebhookSecret();
    let endpoint: WebhookEndpointDoc | null = null;
    // Compare-and-set on the secret it replaces: of two rotations at once, the later keeps the earlier's
    // secret as the previous one (both callers' secrets sign through the overlap), as if one ran after
    // the other. A lost race reads the endpoint again; get() answers 404 once it is gone.
    for (let attempt = 0; !endpoint; attempt++) {
      if (attempt === ROTATE_ATTEMPTS) throw AppError.conflict('The secret was rotated concurrently; try again');
      const current = await this.get(id, scope);
      endpoint = await this.endpoints.update(
        id,
        scope,
        {
          secret_enc: this.box.seal(secret),
          previous_secret_enc: graceSeconds > 0 ? current.secret_enc : null,
          previous_secret_expires_at: graceSeconds > 0 ? new Date(this.clock.now() + graceSeconds * 1000) : null,
        },
        { secret_enc: current.secret_enc },
      );
    }
    // Fresh rows are sent with the endpoint the outbox cached for them: every node drops the old secret.
    this.outbox.forget(endpoint.tenant_id);
    return { endpoint, secret };
  }

  /** Sends a `webhook.test` event now and answers with the outcome of that first attempt (retried like any event if it failed). */
  async test(id: string, scope: EndpointScope = {}): Promise<{ delivery: WebhookDeliveryDoc; attempts: AttemptRecord[] }> {
    const ep = await this.get(id, scope);
    if (!ep.active) throw AppError.conflict('The endpoint is inactive; activate it first');
    const now = new Date(this.clock.now());
    const eventId = `evt_test_${randomUUID().replace(/-/g, '')}`;
    const payload = { id: eventId, type: WEBHOOK_TEST_EVENT, created_at: now.toISOString(), tenant_id: ep.tenant_id, data: { endpoint_id: ep._id.toHexString() } };
    const row = this.outbox.row(ep, eventId, WEBHOOK_TEST_EVENT, payload, now);
    await this.dispatcher.deliverNow(row);
    return this.delivery(id, row._id, scope);
  }

  async listDeliveries(id: string, q: { status?: WebhookDeliveryStatus; cursor?: string; limit: number }, scope: EndpointScope = {}): Promise<WebhookDeliveryDoc[]> {
    const ep = await this.get(id, scope);
    return this.deliveries.list(ep._id.toHexString(), q);
  }

  async delivery(id: string, deliveryId: string, scope: EndpointScope = {}): Promise<{ delivery: WebhookDeliveryDoc; attempts: AttemptRecord[] }> {
    const ep = await this.get(id, scope);
    const delivery = await this.deliveries.find(ep._id.toHexString(), deliveryId);
    if (!delivery) throw AppError.notFound('Webhook delivery');
    return { delivery, attempts: await this.deliveries.attemptsOf(delivery) };
  }

  /** Queues one delivery again (same X-Webhook-Id) with a fresh retry window. */
  async replayOne(id: string, deliveryId: string, scope: EndpointScope = {}): Promise<{ requeued: number }> {
    const ep = await this.get(id, scope);
    const d = await this.deliveries.find(ep._id.toHexString(), deliveryId);
    if (!d) throw AppError.notFound('Webhook delivery');
    return this.requeue(ep, { _id: d._id });
  }

  /** Queues again every delivery of the endpoint created since `since` that is not pending. */
  async replaySince(id: string, since: Date, scope: EndpointScope = {}): Promise<{ requeued: number }> {
    return this.requeue(await this.get(id, scope), { since });
  }

  private async requeue(ep: WebhookEndpointDoc, filter: { _id?: string; since?: Date }): Promise<{ requeued: number }> {
    if (!ep.active) throw AppError.conflict('The endpoint is inactive; activate it first');
    const now = this.clock.now();
    const requeued = await this.deliveries.requeue({ endpoint_id: ep._id.toHexString(), ...filter }, new Date(now), new Date(now + this.config.WEBHOOK_RETRY_WINDOW_SECONDS * 1000));
    if (!requeued) return { requeued };
    // A replay says the receiver takes them now: the endpoint's circuit closes where this node delivers (EndpointBreakers).
    this.outbox.retryEndpoint(ep._id.toHexString());
    this.dispatcher.wake();
    return { requeued };
  }

  private checkUrl(raw: string | undefined): string {
    let url: URL | null = null;
    try {
      url = raw ? new URL(raw) : null;
    } catch {
      url = null;
    }
    const allowed = url && (url.protocol === 'https:' || (this.config.WEBHOOK_ALLOW_INSECURE_URLS && url.protocol === 'http:'));
    if (!url || !allowed || url.username || url.password || raw!.length > 2000 || (!this.config.WEBHOOK_ALLOW_INSECURE_URLS && isInternalHost(url.hostname))) {
      const scheme = this.config.WEBHOOK_ALLOW_INSECURE_URLS ? 'an http(s)' : 'an https';
      throw AppError.validation([{ field: 'url', problems: [`must be ${scheme} URL to a public host, without credentials, at most 2000 characters`] }]);
    }
    return url.toString();
  }

  private checkEvents(events: string[] | undefined): string[] {
    const list = [...new Set(events ?? ['*'])];
    const unknown = list.filter((e) => !KNOWN_EVENTS.has(e));
    if (!list.length || unknown.length) {
      throw AppError.validation([{ field: 'events', problems: [list.length ? `unknown event types: ${unknown.join(', ')}` : 'at least one event type is required'] }]);
    }
    return list;
  }
}
