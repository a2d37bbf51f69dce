import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { SecretBox } from '@chat/platform';
import { Clock } from '@chat/clock';
import { AttemptSlots } from './attempt-slots';
import { WebhookDeliveriesRepository } from './deliveries.repository';
import { DueRowScans, ScanHost } from './due-row-scans';
import { WebhookEndpointsRepository } from './endpoints.repository';
import { FreshRowTaker, leaseDueRows, parkRows, WebhookOutbox } from './webhook-outbox';
import { WebhookSender } from './webhook-sender';
import { WebhookDeliveryDoc, WebhookEndpointDoc } from './webhook.schemas';
import { DeliveredOutcomes } from './delivered-outcomes';
import { HeldRetries } from './held-retries';
import { EndpointBreakers } from './endpoint-breaker';
import { AttemptHost, DeliveryAttempt } from './delivery-attempt';
import { FullScanSchedule } from './full-scan-schedule';
import { BacklogRow, RowBacklog } from './row-backlog';
import { ParkedEndpoints, ParkingHost } from './parked-endpoints';
import { ParkedEndpointsRepository } from './parked-endpoints.repository';
import { ParkedRowsRepository } from './parked-rows.repository';

export const WEBHOOK_SECRET_BOX = Symbol('WEBHOOK_SECRET_BOX');

/** Fresh rows a node leases to itself at insert and keeps waiting for a slot; beyond it rows go in free. */
const BACKLOG_MAX = 1000;
/** Rows this node failed and keeps leased until their retry is due; beyond it they are left to run out (any node's full scan). */
const HELD_MAX = 10_000;

/**
 * Delivers outbox rows. Every node runs one: it scans for due rows (DueRowScans), takes each with a lease (see
 * WebhookDeliveriesRepository.claimMany) so one attempt is made by one node, posts it, and records the
 * outcome (DeliveryAttempt). A node that dies holding a lease loses it when the lease ends, and another
 * node retries (same X-Webhook-Id). An endpoint failing every attempt gets one probe at a time from this
 * node (EndpointBreakers: its circuit is open); the rows waiting for it are parked (ParkedEndpoints).
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown, FreshRowTaker, AttemptHost, ParkingHost, ScanHost {
  private readonly logger = new Logger('WebhookDispatcher');
  readonly nodeId = randomUUID();
  private stopped = false;
  private claimSeq = 0;
  private readonly fullScans: FullScanSchedule;
  /** Attempts in flight here and the node and endpoint bounds. */
  private readonly slots: AttemptSlots;
  /** The scans for due rows: when they run, what they start. */
  private readonly scans: DueRowScans;
  /** Rows leased to this node at insert or drained, waiting for a slot (pump). */
  private readonly backlog = new RowBacklog(BACKLOG_MAX);
  /** Rows whose attempt here failed, leased to this node until their retry is due: this node's scans retry them then. */
  private readonly held = new HeldRetries(HELD_MAX);
  /** 2xx outcomes waiting to be written together. */
  private readonly delivered: DeliveredOutcomes;
  /** Counts endpoint changes seen here: rows leased before one are not started with the endpoint as it was. */
  private endpointsEpoch = 0;
  private delegated = false;
  /** Endpoints failing on this node: while one is open, only its probe is attempted. */
  private readonly breakers: EndpointBreakers;
  private readonly attempt: DeliveryAttempt;
  /** Rows waiting for an open circuit, parked in the store: their records, probes and drains. */
  private readonly parking: ParkedEndpoints;

  constructor(
    private readonly config: AppConfig,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly outbox: WebhookOutbox,
    sender: WebhookSender,
    @Inject(WEBHOOK_SECRET_BOX) box: SecretBox,
    private readonly clock: Clock,
    parkedRecords: ParkedEndpointsRepository,
    parkedRows: ParkedRowsRepository,
  ) {
    this.fullScans = new FullScanSchedule(config.WEBHOOK_LEASE_MS);
    this.delivered = new DeliveredOutcomes(deliveries, clock, () =>
      // Unwritten outcomes keep their leases until they run out; another attempt follows (same X-Webhook-Id).
      this.fullScans.leaseLeft(this.clock.now() + this.config.WEBHOOK_LEASE_MS),
    );
    this.breakers = new EndpointBreakers(() => this.clock.now(), config.WEBHOOK_BACKOFF_BASE_MS, config.WEBHOOK_BACKOFF_MAX_MS);
    const retryWindowMs = config.WEBHOOK_RETRY_WINDOW_SECONDS * 1000;
    this.parking = new ParkedEndpoints(parkedRecords, parkedRows, this.breakers, config.WEBHOOK_LEASE_MS, retryWindowMs, () => this.clock.now(), this);
    this.attempt = new DeliveryAttempt(config, deliveries, endpoints, outbox, sender, box, clock, this.delivered, this.breakers, this.held, this.parking, this);
    this.slots = new AttemptSlots(config);
    this.scans = new DueRowScans(config, deliveries, endpoints, outbox, clock, this.fullScans, this.breakers, this.held, this.parking, this.slots, () => this.stopped, this);
  }

  /** A delivery worker process delivers for this one (WEBHOOK_DELIVERY_WORKER): no scans, no fresh rows here. Call before init. */
  standDown(): void {
    this.delegated = true;
  }

  onApplicationBootstrap(): void {
    const every = this.config.WEBHOOK_DISPATCH_INTERVAL_MS;
    if (!every || this.delegated) return;
    this.outbox.onRecorded(() => this.scans.wakeSoon());
    this.outbox.attachTaker(this);
    // Pending rows an earlier version kept in the log (none once every node runs this one).
    this.deliveries.movePendingFromLog().then(
      (n) => n && (this.logger.log(`moved ${n} pending webhook rows out of the delivery log`), this.wake()),
      (err: Error) => this.logger.warn(`could not move pending webhook rows out of the delivery log: ${err.message}`),
    );
    this.scans.start(every);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.scans.stop();
    // Attempts in flight finish (bounded by WEBHOOK_TIMEOUT_MS); an unfinished lease would only delay a retry.
    await this.slots.settled();
  }

  /** Starts a scan now (one at a time; a wake during a scan asks for one more). */
  wake(): void {
    // Stood down: the worker's own scans find what a replay requeued here.
    if (this.stopped || this.delegated) return;
    this.scans.run();
  }

  /** One scan and every attempt it started (tests). */
  async runOnce(): Promise<void> {
    await this.scans.runOnce();
    await this.slots.settled();
  }

  /** ScanHost: a scan's claimed rows start. */
  startClaimed(claimed: WebhookDeliveryDoc[], probes: ReadonlyMap<string, string>, byId: ReadonlyMap<string, WebhookEndpointDoc>): void {
    // A probe starts now; the other rows join the backlog, which starts them as the bounds allow: the
    // backlog may have filled the endpoint while the claim was answered (planned counted only what was
    // in flight before), and a circuit that opened meanwhile holds them for its probe (pump).
    for (const d of claimed) if (probes.has(d._id)) void this.track(d, byId.get(d.endpoint_id) ?? null, true);
    this.backlog.add(claimed.filter((d) => !probes.has(d._id)), byId);
    this.pump();
  }

  /**
   * Fresh rows about to be inserted (WebhookOutbox) get this node's lease before the insert, so the
   * insert is their claim: no claim write, no due-rows query. Once the insert answers, the rows it
   * stored join this node's backlog and start as the concurrency bounds allow; rows that existed
   * already (another path or node recorded them) are not ours and are dropped. Rows of an endpoint
   * whose circuit is open here are parked instead (ParkedEndpoints; no write more than the insert).
   */
  leaseFresh(rows: WebhookDeliveryDoc[], endpoints: ReadonlyMap<string, WebhookEndpointDoc>): ((inserted: ReadonlySet<number>) => void) | null {
    if (this.stopped) return null;
    const epoch = this.endpointsEpoch;
    const now = this.clock.now();
    const token = this.claimToken();
    const writes: Array<() => void> = [];
    const parked = parkRows(rows, now, (r) => {
      const p = this.breakers.blocked(r.endpoint_id, now) ? this.parking.park(r.endpoint_id, new Date(r.retry_until).getTime(), now) : null;
      return p ? (writes.push(p.done), { at: this.breakers.probeAt(r.endpoint_id) ?? now, ...p }) : null;
    });
    // A full backlog: the row goes in free, for any node's scan.
    const taken = leaseDueRows(rows, token, now, this.config.WEBHOOK_LEASE_MS, () => this.backlog.reserve());
    if (!taken.length && !parked.length) return null;
    return (inserted) => {
      for (const done of writes) done();
      this.backlog.settle(taken.length);
      const mine = taken.filter((i) => inserted.has(i)).map((i) => rows[i]!);
      // The endpoints the rows were made for are current unless one changed since (then read again).
      if (mine.length) void this.adopt(mine, epoch === this.endpointsEpoch ? endpoints : null);
    };
  }

  /** Rows the serving process inserted leased to this worker (ForwardingTaker); beyond a full backlog they are left to run out. */
  adoptLeased(rows: WebhookDeliveryDoc[]): void {
    const room = this.stopped ? 0 : this.backlog.room();
    for (const d of rows.slice(room)) this.fullScans.leaseLeft(new Date(d.lease_until).getTime());
    if (room && rows.length) void this.adopt(rows.slice(0, room), null);
  }

  /**
   * An endpoint changed (deleted, turned off, new secret): backlog rows of the tenant (all, for a change
   * seen on another node) would be sent with the endpoint as it was. They are dropped instead: their
   * leases run out and a scan claims them again if they are still pending, with the endpoint as it is.
   */
  endpointsChanged(tenantId?: string): void {
    this.endpointsEpoch++;
    // A changed endpoint (new URL, turned back on) starts with a closed circuit: what waits for it is due now.
    this.closed(this.breakers.reset({ tenantId }));
    for (const d of this.backlog.drop(tenantId, (id) => this.parking.backlogEmpty(id))) this.fullScans.leaseLeft(new Date(d.lease_until).getTime());
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
      for (const d of rows) this.fullScans.leaseLeft(new Date(d.lease_until).getTime());
      this.logger.warn(`could not start fresh webhook rows: ${(err as Error).message}`);
      return;
    }
    this.backlog.add(rows, new Map(endpoints.map((ep) => [ep._id.toHexString(), ep])));
    this.pump();
  }

  /** Starts backlog rows, oldest first, as far as the node and endpoint bounds allow. */
  private pump(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    const fits = (endpointId: string) => this.slots.fits(endpointId);
    const start = ({ d, ep }: BacklogRow) => {
      const until = new Date(d.lease_until).getTime();
      const probe = this.breakers.probeAt(d.endpoint_id) !== null;
      // Too close to the end of its lease to finish an attempt under it: left to run out, then any node's scan retries it.
      if (now + this.config.WEBHOOK_TIMEOUT_MS >= until) this.fullScans.leaseLeft(until);
      // The endpoint's circuit is open: the row waits for its probe with the held rows (its lease runs out at its own time).
      else if (!this.breakers.admit(d.endpoint_id, now)) this.hold(d, d.lease_owner ?? '', this.breakers.probeAt(d.endpoint_id)!);
      else void this.track(d, ep, probe);
    };
    this.backlog.pump(fits, start, (endpointId) => this.parking.backlogEmpty(endpointId), () => this.slots.nodeFull());
  }

  /** Unique per claim: the rows of one claim are found by it, and only its holder writes their outcome. */
  claimToken(): string {
    return `${this.nodeId}:${++this.claimSeq}`;
  }

  /**
   * Runs one attempt. Its slot (node and endpoint bounds) is held until the receiver answers, not
   * until the outcome is written: the bounds protect the receiver, and outcomes are written in batches.
   */
  private track(d: WebhookDeliveryDoc, ep: WebhookEndpointDoc | null, probe = false): Promise<void> {
    const release = this.slots.take(d.endpoint_id, () => {
      this.pump();
      this.scans.slotFreed();
    });
    const run = this.attempt
      .run(d, ep, release, probe)
      .catch((err: Error) => this.logger.error(`webhook attempt ${d._id} failed: ${err.message}`))
      .finally(() => {
        this.slots.ended(run);
        // A probe that ended without an outcome (no attempt made, or it threw) lets another start.
        if (probe) this.breakers.probeEnded(d.endpoint_id);
        release();
      });
    this.slots.started(run);
    return run;
  }

  /** Stores a new row leased to this node, so no scan takes it first, and attempts it at once (the test ping answers with that attempt). */
  async deliverNow(row: WebhookDeliveryDoc): Promise<void> {
    leaseDueRows([row], this.claimToken(), this.clock.now(), this.config.WEBHOOK_LEASE_MS);
    if (await this.deliveries.insertIfAbsent([row])) await this.track(row, await this.endpoints.find(row.endpoint_id));
  }

  /** AttemptHost: the row waits here, leased by `owner` until `at`, for this node to attempt it then; beyond HELD_MAX its lease runs out (any node's full scan). */
  hold(d: WebhookDeliveryDoc, owner: string, at: number): void {
    if (!this.held.add(d._id, d.endpoint_id, at, owner)) this.fullScans.leaseLeft(at);
  }

  /** An admin replays deliveries of the endpoint: its circuit here closes (the receiver is said to be back), its parked rows drain, and a scan runs. */
  retryEndpoint(endpointId: string): void {
    this.closed(this.breakers.reset({ endpointId }));
    this.parking.drain(endpointId);
    this.wake();
  }

  /** ParkingHost: drained rows join the backlog; a parked row claimed as an open endpoint's probe starts. */
  startDrained(rows: WebhookDeliveryDoc[]): void {
    void this.adopt(rows, null);
  }

  async startProbe(d: WebhookDeliveryDoc): Promise<void> {
    void this.track(d, await this.endpoints.find(d.endpoint_id), true);
  }

  /** AttemptHost: circuits closed (a 2xx, a change): rows kept for them are due now; scans are full from now (their free rows were left out). */
  closed(endpointIds: string[]): void {
    if (!endpointIds.length) return;
    const now = this.clock.now();
    this.held.dueBy(new Set(endpointIds), now);
    this.fullScans.leaseLeft(now);
    for (const id of endpointIds) this.parking.drain(id);
    this.wake();
  }
}
