import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { Clock } from '@chat/clock';
import { WebhookDeliveriesRepository } from './deliveries.repository';
import { EndpointDirectory } from './endpoint-directory';
import { WebhookEndpointsRepository } from './endpoints.repository';
import { endpointWants } from './event-types';
import { WebhookDeliveryDoc, WebhookEndpointDoc } from './webhook.schemas';
import { CoalescedFlush } from './coalesced-flush';
import { FastPathWatermark } from './fast-path-watermark';

/**
 * Rows recorded within this long share one insertMany (every database command costs the node a
 * socket write and a read, as the sends' own do). Recording runs after the change is durable and
 * answered (the watermark covers rows not stored yet), so the window delays delivery, not the sends:
 * per tick, a send path writing a message or two per tick paid one outbox insert per message.
 */
const INSERT_WINDOW_MS = 100;
/** Recordings waiting beyond which the window ends early (one insertMany of them at once). */
const INSERT_BATCH_MAX = 500;

/** How long a node reuses its list of a tenant's endpoints on the hot path (changes on this node drop it at once). */
const ENDPOINTS_TTL_MS = 2000;

/** `evt_<32 hex>` derived from the change: the fast path and the crash sweeper name an event the same way. */
export function webhookEventId(tenantId: string, type: string, key: string): string {
  return `evt_${createHash('sha256').update(JSON.stringify(['webhook-event-v1', tenantId, type, key])).digest('hex').slice(0, 32)}`;
}

export const deliveryIdFor = (eventId: string, endpointId: string): string => `${eventId}:${endpointId}`;

export interface WebhookEventInput {
  tenantId: string;
  type: string;
  /** What makes this event unique among events of its type in the tenant (e.g. the message id). */
  key: string;
  occurredAt: Date;
  data: Record<string, unknown>;
}

/**
 * Who sends rows on this node (the dispatcher): offered fresh rows just before they are inserted, it
 * leases those it can start at once (sets their lease fields, so they are inserted already claimed)
 * and returns what to do once the insert has answered (`inserted`: positions in `rows` now stored).
 */
export interface FreshRowTaker {
  leaseFresh(rows: WebhookDeliveryDoc[], endpoints: ReadonlyMap<string, WebhookEndpointDoc>): ((inserted: ReadonlySet<number>) => void) | null;
  /** An endpoint of this tenant (of any tenant, when absent) changed. */
  endpointsChanged(tenantId?: string): void;
  /** An admin replayed deliveries of the endpoint: its circuit closes (EndpointBreakers). */
  retryEndpoint(endpointId: string): void;
}

/**
 * For a FreshRowTaker: leases to `token`, in place before their insert, the rows that are due now and
 * that nobody holds, as far as `admit` takes them (a full backlog refuses); returns their positions.
 */
export function leaseDueRows(rows: WebhookDeliveryDoc[], token: string, now: number, leaseMs: number, admit: () => boolean = () => true): number[] {
  const taken: number[] = [];
  rows.forEach((r, i) => {
    if (r.status !== 'pending' || r.parked || new Date(r.next_attempt_at).getTime() > now || r.lease_owner !== null || !admit()) return;
    r.lease_until = new Date(now + leaseMs);
    r.lease_owner = token;
    r.leased = true;
    taken.push(i);
  });
  return taken;
}

/**
 * For a FreshRowTaker: parks, in place before their insert, the due free rows of endpoints whose circuit
 * is open on its node and may have rows parked (`park` gives the time of their next probe and the bucket
 * the row goes into, else null): `parked: true`, free of any lease, due at the probe, they wait at the
 * cost of the insert alone and no due-rows scan reads them (ParkedEndpoints drains them). Returns their positions.
 */
export function parkRows(rows: WebhookDeliveryDoc[], now: number, park: (row: WebhookDeliveryDoc) => { at: number; key: string; slot: number } | null): number[] {
  const parked: number[] = [];
  rows.forEach((r, i) => {
    const p = r.status === 'pending' && r.lease_owner === null && new Date(r.next_attempt_at).getTime() <= now ? park(r) : null;
    if (p === null) return;
    r.next_attempt_at = new Date(p.at);
    r.parked = true;
    r.parked_bucket = p.key;
    r.parked_slot = p.slot;
    parked.push(i);
  });
  return parked;
}

interface Pending {
  rows: WebhookDeliveryDoc[];
  done: (inserted: number) => void;
  failed: (err: unknown) => void;
}

/**
 * Writes outbox rows: one per (event, subscribed endpoint), with deterministic ids, so recording the
 * same change again (the sweeper after a crash, a second node) inserts nothing new. Rows recorded within
 * INSERT_WINDOW_MS (a burst of messages) go in one insertMany; rows the local dispatcher can start at once
 * are inserted already leased to it and handed over in memory, so their delivery needs no claim write
 * and no due-rows query (the lease still protects them: a node that dies holding it is retried by
 * another after WEBHOOK_LEASE_MS, as after any claim).
 */
@Injectable()
export class WebhookOutbox {
  private readonly cache = new Map<string, { at: number; endpoints: WebhookEndpointDoc[] }>();
  private readonly listeners = new Set<() => void>();
  private readonly loading = new Map<string, Promise<WebhookEndpointDoc[]>>();
  private readonly queue: Pending[] = [];
  private readonly flusher = new CoalescedFlush(
    () => this.flush(),
    () => this.queue.length > 0,
    INSERT_WINDOW_MS,
    () => this.queue.length >= INSERT_BATCH_MAX,
  );
  private taker?: FreshRowTaker;
  /** The endpoint (as read for it) each row was made for: the dispatcher starts fresh rows without reading it again. */
  private readonly endpointOf = new WeakMap<WebhookDeliveryDoc, WebhookEndpointDoc>();

  constructor(
    private readonly config: AppConfig,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly clock: Clock,
    private readonly directory: EndpointDirectory,
    private readonly watermark: FastPathWatermark,
  ) {
    // An endpoint changed on another node: this node's per-tenant lists may be stale.
    directory.onChange(() => {
      this.cache.clear();
      this.loading.clear();
      this.taker?.endpointsChanged();
    });
  }

  /** The dispatcher subscribes: a new row it did not take at once is worth a scan soon. */
  onRecorded(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** The dispatcher of this node, when it runs: fresh rows are offered to it before they are inserted. */
  attachTaker(taker: FreshRowTaker): void {
    this.taker = taker;
  }

  /** An endpoint of this tenant changed (on this node): drop what is cached here and tell the other nodes. */
  forget(tenantId: string): void {
    this.cache.delete(tenantId);
    this.loading.delete(tenantId);
    this.directory.bump();
    this.taker?.endpointsChanged(tenantId);
  }

  /** An admin replayed deliveries of the endpoint: whoever delivers here stops waiting for a probe to it. */
  retryEndpoint(endpointId: string): void {
    this.taker?.retryEndpoint(endpointId);
  }

  /** Tenants with at least one active endpoint (EndpointDirectory: no query unless an endpoint changed). */
  tenantsWithEndpoints(): Promise<Set<string>> {
    return this.directory.tenants();
  }

  async endpointsFor(tenantId: string, fresh = false): Promise<WebhookEndpointDoc[]> {
    // Most tenants have no endpoint: known without reading them (one shared list, current as of the
    // version read now: a change announced on another node also drops what is cached below).
    if (!fresh && !(await this.directory.current()).has(tenantId)) return [];
    const hit = this.cache.get(tenantId);
    const now = this.clock.now();
    if (!fresh && hit && now - hit.at < ENDPOINTS_TTL_MS) return hit.endpoints;
    // Misses arriving together (a burst of messages after the entry expired) share one read.
    const pending = fresh ? undefined : this.loading.get(tenantId);
    if (pending) return pending;
    const load: Promise<WebhookEndpointDoc[]> = this.endpoints.activeForTenant(tenantId).then((endpoints) => {
      // A forget() while this read ran wins: its answer may predate the change.
      if (fresh || this.loading.get(tenantId) === load) {
        if (this.cache.size > 10_000) this.cache.clear();
        this.cache.set(tenantId, { at: now, endpoints });
      }
      return endpoints;
    });
    if (fresh) return load;
    this.loading.set(tenantId, load);
    try {
      return await load;
    } finally {
      if (this.loading.get(tenantId) === load) this.loading.delete(tenantId);
    }
  }

  /** The rows an event gives for these endpoints (subscribed, and existing when the change happened). */
  rowsFor(e: WebhookEventInput, endpoints: WebhookEndpointDoc[]): WebhookDeliveryDoc[] {
    // Most tenants have no endpoint: no event id (a SHA-256) nor payload for nobody.
    if (!endpoints.length) return [];
    const eventId = webhookEventId(e.tenantId, e.type, e.key);
    const now = new Date(this.clock.now());
    const payload = { id: eventId, type: e.type, created_at: e.occurredAt.toISOString(), tenant_id: e.tenantId, data: e.data };
    return endpoints
      .filter((ep) => endpointWants(ep.events, e.type) && new Date(ep.created_at).getTime() <= e.occurredAt.getTime())
      .map((ep) => this.row(ep, eventId, e.type, payload, now));
  }

  row(ep: WebhookEndpointDoc, eventId: string, type: string, payload: Record<string, unknown>, now: Date): WebhookDeliveryDoc {
    const endpointId = ep._id.toHexString();
    const row: WebhookDeliveryDoc = {
      _id: deliveryIdFor(eventId, endpointId),
      tenant_id: ep.tenant_id,
      application_id: ep.application_id,
      endpoint_id: endpointId,
      event_id: eventId,
      type,
      payload,
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      retry_until: new Date(now.getTime() + this.config.WEBHOOK_RETRY_WINDOW_SECONDS * 1000),
      lease_until: new Date(0),
      lease_owner: null,
      leased: false,
      parked: false,
      last_status_code: null,
      last_error: null,
      delivered_at: null,
      created_at: now,
      updated_at: now,
    };
    this.endpointOf.set(row, ep);
    return row;
  }

  /** The fast path: the event of a change that is durable now. Tracked (FastPathWatermark) until its rows are stored. */
  record(e: WebhookEventInput): Promise<number> {
    return this.watermark.track(async () => this.insert(this.rowsFor(e, await this.endpointsFor(e.tenantId))));
  }

  /** Another fast-path recording (notification.offline), tracked the same way. */
  track<T>(work: () => Promise<T>): Promise<T> {
    return this.watermark.track(work);
  }

  /**
   * Inserts rows (those already stored are left alone); resolves with how many of these were new, once
   * they are stored. Rows of one INSERT_WINDOW_MS share one insertMany.
   */
  insert(rows: WebhookDeliveryDoc[]): Promise<number> {
    if (!rows.length) return Promise.resolve(0);
    return new Promise((done, failed) => {
      this.queue.push({ rows, done, failed });
      this.flusher.soon();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0);
    const rows = batch.flatMap((b) => b.rows);
    const endpoints = new Map<string, WebhookEndpointDoc>();
    for (const r of rows) {
      const ep = this.endpointOf.get(r);
      if (ep) endpoints.set(r.endpoint_id, ep);
    }
    const started = this.taker?.leaseFresh(rows, endpoints) ?? null;
    let inserted: Set<number>;
    try {
      inserted = await this.deliveries.insertNew(rows);
    } catch (err) {
      started?.(new Set());
      for (const b of batch) b.failed(err);
      return;
    }
    started?.(inserted);
    let offset = 0;
    for (const b of batch) {
      let n = 0;
      for (let i = 0; i < b.rows.length; i++) if (inserted.has(offset + i)) n++;
      offset += b.rows.length;
      b.done(n);
    }
    // Rows stored without a lease (the dispatcher is off here, or at its concurrency bounds) wait for a scan.
    const free = [...inserted].some((i) => rows[i]!.lease_owner === null && !rows[i]!.parked);
    if (free) for (const l of this.listeners) l();
  }
}
