import { Logger } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { Clock } from '@chat/clock';
import { AttemptSlots } from './attempt-slots';
import { DueRow, WebhookDeliveriesRepository } from './deliveries.repository';
import { EndpointBreakers } from './endpoint-breaker';
import { WebhookEndpointsRepository } from './endpoints.repository';
import { FullScanSchedule } from './full-scan-schedule';
import { HeldRetries } from './held-retries';
import { ParkedEndpoints } from './parked-endpoints';
import { WebhookOutbox } from './webhook-outbox';
import { WebhookDeliveryDoc, WebhookEndpointDoc } from './webhook.schemas';

/** Candidates read per scan; claims beyond the concurrency bounds wait for the next scan. */
const SCAN_BATCH = 100;
/**
 * A new outbox row wakes the dispatcher this much later, not at once: rows recorded meanwhile (a
 * burst of messages) are claimed, and their outcomes written, in one round trip each, instead of one
 * scan, claim, attempt log and status write per message competing with the sends for the database.
 */
const WAKE_DELAY_MS = 200;

/** What DueRowScans needs of the dispatcher. */
export interface ScanHost {
  claimToken(): string;
  /** Starts a scan now, unless the dispatcher stopped or stood down (WebhookDispatcher.wake). */
  wake(): void;
  /** Claimed rows start: `probes` (row id to endpoint) at once, the others as the bounds allow. */
  startClaimed(claimed: WebhookDeliveryDoc[], probes: ReadonlyMap<string, string>, endpoints: ReadonlyMap<string, WebhookEndpointDoc>): void;
}

/**
 * The dispatcher's scans for due rows (retries, rows other nodes recorded and did not take, leases run
 * out, replays): when they run (every WEBHOOK_DISPATCH_INTERVAL_MS, WAKE_DELAY_MS after a new row, at
 * once when woken; one at a time), how far each looks (FullScanSchedule), and which rows it starts:
 * this node's held retries that are due first, then its candidates, within the concurrency bounds
 * (AttemptSlots), claimed together; rows of open circuits are parked or probed (ParkedEndpoints).
 */
export class DueRowScans {
  private readonly logger = new Logger('WebhookDispatcher');
  private timer?: NodeJS.Timeout;
  private scanning?: Promise<void>;
  private rescan = false;
  private wakeTimer?: NodeJS.Timeout;
  /** The last scan left due rows behind for the concurrency bounds: a freed slot is worth a scan. */
  private starved = false;
  /** The last scan found no due row. */
  private idle = false;

  constructor(
    private readonly config: AppConfig,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly outbox: WebhookOutbox,
    private readonly clock: Clock,
    private readonly fullScans: FullScanSchedule,
    private readonly breakers: EndpointBreakers,
    private readonly held: HeldRetries,
    private readonly parking: ParkedEndpoints,
    private readonly slots: AttemptSlots,
    private readonly stopped: () => boolean,
    private readonly host: ScanHost,
  ) {}

  /** Scans every `every` ms from now on (onInterval). */
  start(every: number): void {
    this.timer = setInterval(() => this.onInterval(), every);
    this.timer.unref();
  }

  /** No scan is planned any more; resolves once the one running, if any, has ended. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    await this.scanning;
  }

  /**
   * The periodic scan (retries, rows other nodes recorded and did not take, leases run out), and the
   * parked endpoints' records (ParkedEndpoints.tick). The scan is skipped while no tenant has an active
   * endpoint and the last scan found nothing: then no row can become due for delivery (a replay or a new
   * row still wakes the dispatcher directly).
   */
  private onInterval(): void {
    if (this.stopped()) return;
    this.parking.tick();
    this.outbox.tenantsWithEndpoints().then(
      (tenants) => {
        if (tenants.size || !this.idle || this.held.anyDue(this.clock.now())) this.host.wake();
      },
      () => this.host.wake(),
    );
  }

  /** Starts a scan WAKE_DELAY_MS from now, unless one is already planned. */
  wakeSoon(): void {
    if (this.stopped() || this.wakeTimer) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.host.wake();
    }, WAKE_DELAY_MS);
    this.wakeTimer.unref();
  }

  /** Starts a scan now (one at a time; a wake during a scan asks for one more). WebhookDispatcher.wake decides whether. */
  run(): void {
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
          this.host.wake();
        }
      });
  }

  /** One full scan, after the one running, if any (tests). */
  async runOnce(): Promise<void> {
    await this.scanning;
    await this.scan(true);
  }

  /** An attempt's slot was freed: it may unblock a row the last scan had to leave (no scan per finished attempt otherwise). */
  slotFreed(): void {
    if (this.starved) this.host.wake();
  }

  private async scan(full = false): Promise<void> {
    const now = new Date(this.clock.now());
    const limit = this.config.WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT;
    const busy = this.slots.busy();
    const at = now.getTime();
    // Most scans ask only for rows no lease holds; some also for rows whose lease ran out (FullScanSchedule).
    full = this.fullScans.begin(at, full);
    if (full) this.parking.tick();
    const candidates = await this.deliveries.dueIds(now, SCAN_BATCH, busy, !full, full && this.fullScans.legacy(at));
    if (full || candidates.length) this.idle = candidates.length === 0;
    // The rows this node may start now (node and per-endpoint bounds), claimed in one round trip: its
    // own retries that are due first, then the scan's candidates.
    const planned = this.slots.planned();
    const picked: string[] = [];
    const own: Array<{ _id: string; owner?: string }> = [];
    const probes = new Map<string, string>();
    this.starved = false;
    const isBlocked = (endpointId: string) => this.breakers.blocked(endpointId, at);
    // Rows of open circuits (but for a probe that is due: EndpointBreakers) are not started; those found free are parked.
    const unparked: DueRow[] = [];
    for (const c of [...this.held.due(at, isBlocked), ...candidates.filter((c) => !this.held.has(c._id))]) {
      if (this.stopped()) return;
      const n = planned.get(c.endpoint_id) ?? 0;
      if (isBlocked(c.endpoint_id)) {
        if ('retry_until' in c) unparked.push(c);
        continue;
      }
      if (this.slots.nodeFull(picked.length + own.length) || n >= limit) {
        this.starved = true;
        continue;
      }
      // An open circuit lets one probe through per step; its other rows stay unclaimed (closed() wakes a scan for them).
      if (this.breakers.probeAt(c.endpoint_id) !== null) {
        if (!this.breakers.admit(c.endpoint_id, at)) continue;
        probes.set(c._id, c.endpoint_id);
      }
      planned.set(c.endpoint_id, n + 1);
      if ('owner' in c) own.push(c);
      else picked.push(c._id);
    }
    this.held.remove(own.map((c) => c._id));
    if (unparked.length) await this.parking.parkFound(unparked, at);
    if (full) {
      // Rows left behind that a lease held (ran out; not this node's own retries), a full page, or endpoints left out as busy (their rows unseen): look again.
      const chosen = new Set(picked);
      const again = candidates.some((c) => c.leased !== false && !chosen.has(c._id) && !this.held.has(c._id)) || candidates.length === SCAN_BATCH;
      this.fullScans.end(at, again, busy.length > 0);
    }
    // Open endpoints whose probe is due and no held row or candidate is: a parked row is the probe.
    const probed = new Set(probes.values());
    await Promise.all(this.parking.probesDue(at).filter((id) => !probed.has(id)).map((id) => this.parking.probe(id, at)));
    if (!picked.length && !own.length) return;
    // Rows another node took meanwhile are simply not in the answer; this node's own held rows are taken by their tokens.
    const lease = this.config.WEBHOOK_LEASE_MS;
    const claimed = [
      ...(own.length ? await this.deliveries.claimOwn(own, now, lease, this.host.claimToken()) : []),
      ...(picked.length ? await this.deliveries.claimMany(picked, now, lease, this.host.claimToken()) : []),
    ];
    for (const [id, endpointId] of probes) if (!claimed.some((d) => d._id === id)) this.breakers.probeEnded(endpointId);
    if (!claimed.length) return;
    const endpoints = await this.endpoints.findMany([...new Set(claimed.map((d) => d.endpoint_id))]);
    this.host.startClaimed(claimed, probes, new Map(endpoints.map((ep) => [ep._id.toHexString(), ep])));
  }
}
