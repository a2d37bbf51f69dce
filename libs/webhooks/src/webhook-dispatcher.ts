import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { SecretBox } from '@chat/platform';
import { backoffDelayMs } from './backoff';
import { Clock } from '@chat/clock';
import { WebhookDeliveriesRepository } from './deliveries.repository';
import { WebhookEndpointsRepository } from './endpoints.repository';
import { signatureHeader } from './signature';
import { FreshRowTaker, leaseDueRows, WebhookOutbox } from './webhook-outbox';
import { WebhookSender } from './webhook-sender';
import { WebhookDeliveryDoc, WebhookEndpointDoc } from './webhook.schemas';
import { DeliveredOutcomes, OUTCOMES_WAITING_MAX } from './delivered-outcomes';
import { signingSecrets } from './signing-secrets';
import { HeldRetries } from './held-retries';

export const WEBHOOK_SECRET_BOX = Symbol('WEBHOOK_SECRET_BOX');

/** Candidates read per scan; claims beyond the concurrency bounds wait for the next scan. */
const SCAN_BATCH = 100;
/** Attempts in flight on this node, all endpoints together. */
const NODE_CONCURRENCY = 32;
/**
 * A new outbox row wakes the dispatcher this much later, not at once: rows recorded meanwhile (a
 * burst of messages) are claimed, and their outcomes written, in one round trip each, instead of one
 * scan, claim, attempt log and status write per message competing with the sends for the database.
 */
const WAKE_DELAY_MS = 200;
/** Fresh rows a node leases to itself at insert and keeps waiting for a slot; beyond it rows go in free. */
const BACKLOG_MAX = 1000;
/** Rows this node failed and keeps leased until their retry is due; beyond it they are left to run out (any node's full scan). */
const HELD_MAX = 10_000;

/**
 * Delivers outbox rows. Every node runs one: it scans for due rows, takes each with a lease (see
 * WebhookDeliveriesRepository.claim) so one attempt is made by one node, posts it, and records the
 * outcome: 2xx delivered; 410 turns the endpoint off; anything else retries with exponential backoff
 * and jitter until retry_until, then the row is dead (the dead-letter list). A node that dies holding
 * a lease loses it when the lease ends, and another node retries (same X-Webhook-Id).
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown, FreshRowTaker {
  private readonly logger = new Logger('WebhookDispatcher');
  readonly nodeId = randomUUID();
  private timer?: NodeJS.Timeout;
  private scanning?: Promise<void>;
  private rescan = false;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly perEndpoint = new Map<string, number>();
  private claimSeq = 0;
  private wakeTimer?: NodeJS.Timeout;
  /** The last scan left due rows behind for the concurrency bounds: a freed slot is worth a scan. */
  private starved = false;
  /** The last scan found no due row. */
  private idle = false;
  /** When the last scan that also looked for rows whose lease ran out ran (Clock ms). */
  private lastFullScan = -Infinity;
  /** Leases this node left to run out end between these (Clock ms): from leftFrom on, scans are full. */
  private leftFrom = Infinity;
  private leftTo = -Infinity;
  /** Attempts whose receiver has not answered yet (the node bound). */
  private active = 0;
  /** Rows leased to this node at insert, waiting for a slot (pump), per endpoint, oldest first. */
  private readonly backlog = new Map<string, Array<{ d: WebhookDeliveryDoc; ep: WebhookEndpointDoc | null }>>();
  private backlogSize = 0;
  /** Rows whose attempt here failed, leased to this node until their retry is due: this node's scans retry them then. */
  private readonly held = new HeldRetries(HELD_MAX);
  /** Rows leased in leaseFresh whose insert has not answered yet. */
  private leasing = 0;
  /** 2xx outcomes waiting to be written together. */
  private readonly delivered: DeliveredOutcomes;
  /** Counts endpoint changes seen here: rows leased before one are not started with the endpoint as it was. */
  private endpointsEpoch = 0;
  private delegated = false;

  constructor(
    private readonly config: AppConfig,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly outbox: WebhookOutbox,
    private readonly sender: WebhookSender,
    @Inject(WEBHOOK_SECRET_BOX) private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {
    this.delivered = new DeliveredOutcomes(deliveries, clock, () =>
      // Unwritten outcomes keep their leases until they run out; another attempt follows (same X-Webhook-Id).
      this.leaseLeft(this.clock.now() + this.config.WEBHOOK_LEASE_MS),
    );
  }

  /** A delivery worker process delivers for this one (WEBHOOK_DELIVERY_WORKER): no scans, no fresh rows here. Call before init. */
  standDown(): void {
    this.delegated = true;
  }

  onApplicationBootstrap(): void {
    const every = this.config.WEBHOOK_DISPATCH_INTERVAL_MS;
    if (!every || this.delegated) return;
    this.outbox.onRecorded(() => this.wakeSoon());
    this.outbox.attachTaker(this);
    // Pending rows an earlier version kept in the log (none once every node runs this one).
    this.deliveries.movePendingFromLog().then(
      (n) => n && (this.logger.log(`moved ${n} pending webhook rows out of the delivery log`), this.wake()),
      (err: Error) => this.logger.warn(`could not move pending webhook rows out of the delivery log: ${err.message}`),
    );
    this.timer = setInterval(() => this.onInterval(), every);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    await this.scanning;
    // Attempts in flight finish (bounded by WEBHOOK_TIMEOUT_MS); an unfinished lease would only delay a retry.
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * The periodic scan (retries, rows other nodes recorded and did not take, leases run out). Skipped
   * while no tenant has an active endpoint and the last scan found nothing: then no row can become due
   * for delivery (a replay or a new row still wakes the dispatcher directly).
   */
  private onInterval(): void {
    if (this.stopped) return;
    this.outbox.tenantsWithEndpoints().then(
      (tenants) => {
        if (tenants.size || !this.idle || this.held.anyDue(this.clock.now())) this.wake();
      },
      () => this.wake(),
    );
  }

  /** Starts a scan WAKE_DELAY_MS from now, unless one is already planned. */
  private wakeSoon(): void {
    if (this.stopped || this.wakeTimer) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.wake();
    }, WAKE_DELAY_MS);
    this.wakeTimer.unref();
  }

  /** Starts a scan now (one at a time; a wake during a scan asks for one more). */
  wake(): void {
    // Stood down: the worker's own scans find what a replay requeued here.
    if (this.stopped || this.delegated) return;
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
    await this.scan(true);
    await Promise.allSettled([...this.inFlight]);
  }

  private async scan(full = false): Promise<void> {
    const now = new Date(this.clock.now());
    const limit = this.config.WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT;
    const busy = [...this.perEndpoint].filter(([, n]) => n >= limit).map(([id]) => id);
    // Most scans ask only for rows no lease holds (an equality FerretDB pushes down: the rows in flight and
    // in backlogs are not read). Rows whose lease ran out need a full scan: every WEBHOOK_LEASE_MS / 2 (a
    // lease runs out no sooner than that after it was taken), and from when a lease this node left to
    // run out ends (leaseLeft) until a full scan sees none left.
    const at = now.getTime();
    const sinceFull = at - this.lastFullScan;
    full ||= at >= this.leftFrom || sinceFull >= this.config.WEBHOOK_LEASE_MS / 2 || sinceFull < 0;
    if (full) this.lastFullScan = at;
    const candidates = await this.deliveries.dueIds(now, SCAN_BATCH, busy, !full);
    if (full || candidates.length) this.idle = candidates.length === 0;
    // The rows this node may start now (node and per-endpoint bounds), claimed in one round trip: its
    // own retries that are due first, then the scan's candidates.
    const planned = new Map(this.perEndpoint);
    const picked: string[] = [];
    this.starved = false;
    for (const c of [...this.held.due(at), ...candidates.filter((c) => !this.held.has(c._id))]) {
      if (this.stopped) return;
      const n = planned.get(c.endpoint_id) ?? 0;
      if (this.active + picked.length >= NODE_CONCURRENCY || n >= limit) {
        this.starved = true;
        continue;
      }
      planned.set(c.endpoint_id, n + 1);
      picked.push(c._id);
    }
    this.held.remove(picked);
    if (full) {
      // Rows left behind that a lease held (ran out; not this node's own retries), a full page, or endpoints left out as busy (their rows unseen): look again.
      const chosen = new Set(picked);
      const again = candidates.some((c) => c.leased !== false && !chosen.has(c._id) && !this.held.has(c._id)) || candidates.length === SCAN_BATCH || (busy.length > 0 && at >= this.leftFrom);
      if (again) this.leftFrom = Math.min(this.leftFrom, at);
      else if (at >= this.leftTo) [this.leftFrom, this.leftTo] = [Infinity, -Infinity];
      else if (at >= this.leftFrom) this.leftFrom = this.leftTo;
    }
    if (!picked.length) return;
    // Rows another node took meanwhile are simply not in the answer.
    const claimed = await this.deliveries.claimMany(picked, now, this.config.WEBHOOK_LEASE_MS, this.claimToken());
    if (!claimed.length) return;
    const endpoints = await this.endpoints.findMany([...new Set(claimed.map((d) => d.endpoint_id))]);
    const byId = new Map(endpoints.map((ep) => [ep._id.toHexString(), ep]));
    for (const d of claimed) void this.track(d, byId.get(d.endpoint_id) ?? null);
  }

  /**
   * Fresh rows about to be inserted (WebhookOutbox) get this node's lease before the insert, so the
   * insert is their claim: no claim write, no due-rows query. Once the insert answers, the rows it
   * stored join this node's backlog and start as the concurrency bounds allow; rows that existed
   * already (another path or node recorded them) are not ours and are dropped.
   */
  leaseFresh(rows: WebhookDeliveryDoc[], endpoints: ReadonlyMap<string, WebhookEndpointDoc>): ((inserted: ReadonlySet<number>) => void) | null {
    if (this.stopped) return null;
    const epoch = this.endpointsEpoch;
    const now = this.clock.now();
    const token = this.claimToken();
    const taken = leaseDueRows(rows, token, now, this.config.WEBHOOK_LEASE_MS, () => {
      // A full backlog: the row goes in free, for any node's scan.
      if (this.backlogSize + this.leasing >= BACKLOG_MAX) return false;
      this.leasing++;
      return true;
    });
    if (!taken.length) return null;
    return (inserted) => {
      this.leasing -= taken.length;
      const mine = taken.filter((i) => inserted.has(i)).map((i) => rows[i]!);
      // The endpoints the rows were made for are current unless one changed since (then read again).
      if (mine.length) void this.adopt(mine, epoch === this.endpointsEpoch ? endpoints : null);
    };
  }

  /** Rows the serving process inserted leased to this worker (ForwardingTaker); beyond a full backlog they are left to run out. */
  adoptLeased(rows: WebhookDeliveryDoc[]): void {
    const room = this.stopped ? 0 : Math.max(0, BACKLOG_MAX - this.backlogSize - this.leasing);
    for (const d of rows.slice(room)) this.leaseLeft(new Date(d.lease_until).getTime());
    if (room && rows.length) void this.adopt(rows.slice(0, room), null);
  }

  /**
   * An endpoint changed (deleted, turned off, new secret): backlog rows of the tenant (all, for a change
   * seen on another node) would be sent with the endpoint as it was. They are dropped instead: their
   * leases run out and a scan claims them again if they are still pending, with the endpoint as it is.
   */
  endpointsChanged(tenantId?: string): void {
    this.endpointsEpoch++;
    for (const [endpointId, queue] of this.backlog) {
      if (tenantId !== undefined && queue[0]?.d.tenant_id !== tenantId) continue;
      for (const { d } of queue) this.leaseLeft(new Date(d.lease_until).getTime());
      this.backlog.delete(endpointId);
      this.backlogSize -= queue.length;
    }
  }

  /**
   * Rows this node leased at insert join the backlog, with the endpoints they were made for, or (one
   * changed meanwhile, or unknown) their endpoints as read now in one query.
   */
  private async adopt(rows: WebhookDeliveryDoc[], known: ReadonlyMap<string, WebhookEndpointDoc> | null): Promise<void> {
    let endpoints: WebhookEndpointDoc[];
    try {
      const ids = [...new Set(rows.map((d) => d.endpoint_id))];
      endpoints = known && ids.every((id) => known.has(id)) ? ids.map((id) => known.get(id)!) : await this.endpoints.findMany(ids);
    } catch (err) {
      // Their leases run out, then any node's scan retries them.
      for (const d of rows) this.leaseLeft(new Date(d.lease_until).getTime());
      this.logger.warn(`could not start fresh webhook rows: ${(err as Error).message}`);
      return;
    }
    const byId = new Map(endpoints.map((ep) => [ep._id.toHexString(), ep]));
    for (const d of rows) {
      const queue = this.backlog.get(d.endpoint_id) ?? [];
      if (!queue.length) this.backlog.set(d.endpoint_id, queue);
      queue.push({ d, ep: byId.get(d.endpoint_id) ?? null });
      this.backlogSize++;
    }
    this.pump();
  }

  /** Starts backlog rows, oldest first, as far as the node and endpoint bounds allow. */
  private pump(): void {
    if (this.stopped) return;
    const limit = this.config.WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT;
    const now = this.clock.now();
    for (const [endpointId, queue] of this.backlog) {
      while (queue.length && this.active < NODE_CONCURRENCY && (this.perEndpoint.get(endpointId) ?? 0) < limit) {
        const { d, ep } = queue.shift()!;
        this.backlogSize--;
        // Too close to the end of its lease to finish an attempt under it: left to run out, then any node's scan retries it.
        if (now + this.config.WEBHOOK_TIMEOUT_MS < new Date(d.lease_until).getTime()) void this.track(d, ep);
        else this.leaseLeft(new Date(d.lease_until).getTime());
      }
      if (!queue.length) this.backlog.delete(endpointId);
      if (this.active >= NODE_CONCURRENCY) return;
    }
  }

  /** A lease this node holds is left to run out at `until` (Clock ms): full scans from then on find its row. */
  private leaseLeft(until: number): void {
    this.leftFrom = Math.min(this.leftFrom, until);
    this.leftTo = Math.max(this.leftTo, until);
  }

  /** Unique per claim: the rows of one claim are found by it, and only its holder writes their outcome. */
  private claimToken(): string {
    return `${this.nodeId}:${++this.claimSeq}`;
  }

  /**
   * Runs one attempt. Its slot (node and endpoint bounds) is held until the receiver answers, not
   * until the outcome is written: the bounds protect the receiver, and outcomes are written in batches.
   */
  private track(d: WebhookDeliveryDoc, ep: WebhookEndpointDoc | null): Promise<void> {
    this.active++;
    this.perEndpoint.set(d.endpoint_id, (this.perEndpoint.get(d.endpoint_id) ?? 0) + 1);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      this.active--;
      const n = (this.perEndpoint.get(d.endpoint_id) ?? 1) - 1;
      if (n > 0) this.perEndpoint.set(d.endpoint_id, n);
      else this.perEndpoint.delete(d.endpoint_id);
      this.pump();
      // A freed slot may unblock a row the last scan had to leave (no scan per finished attempt otherwise).
      if (this.starved) this.wake();
    };
    const run = this.attempt(d, ep, release)
      .catch((err: Error) => this.logger.error(`webhook attempt ${d._id} failed: ${err.message}`))
      .finally(() => {
        this.inFlight.delete(run);
        release();
      });
    this.inFlight.add(run);
    return run;
  }

  /** Claims one row and attempts it at once (the test ping); null when another node holds it. */
  async deliverNow(id: string): Promise<WebhookDeliveryDoc | null> {
    const claimed = await this.deliveries.claim(id, new Date(this.clock.now()), this.config.WEBHOOK_LEASE_MS, this.claimToken());
    if (!claimed) return null;
    await this.track(claimed, await this.endpoints.find(claimed.endpoint_id));
    return claimed;
  }

  private async attempt(d: WebhookDeliveryDoc, ep: WebhookEndpointDoc | null, answered: () => void): Promise<void> {
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
      node: this.nodeId,
    };
    if (r.statusCode !== null && r.statusCode >= 200 && r.statusCode < 300) {
      // The common outcome: written with the others that finish meanwhile (a first attempt folded into its row: DeliveredOutcomes).
      await this.delivered.add({ row: d, owner, statusCode: r.statusCode, log });
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
      return;
    }
    const next = Math.min(until, now + backoffDelayMs(attempt, this.config.WEBHOOK_BACKOFF_BASE_MS, this.config.WEBHOOK_BACKOFF_MAX_MS));
    // The row stays leased to this node until `next` (finish), and this node retries it then (HeldRetries).
    await this.deliveries.finish(d, owner, { ...common, next_attempt_at: new Date(next) });
    if (!this.held.add(d._id, d.endpoint_id, next)) this.leaseLeft(next);
  }
}
