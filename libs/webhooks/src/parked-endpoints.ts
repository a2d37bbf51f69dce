import { Logger } from '@nestjs/common';
import type { DueRow } from './deliveries.repository';
import { EndpointBreakers } from './endpoint-breaker';
import { BucketRef, PARKED_SLOT_MS, ParkedBuckets } from './parked-buckets';
import { ParkedEndpointsRepository } from './parked-endpoints.repository';
import { ParkedRowsRepository } from './parked-rows.repository';
import { WebhookDeliveryDoc } from './webhook.schemas';

/** Parked rows claimed per drain query; the next query follows once they have left the node's backlog. */
export const DRAIN_BATCH = 100;

/** What ParkedEndpoints needs of the dispatcher. */
export interface ParkingHost {
  readonly nodeId: string;
  claimToken(): string;
  /** Claimed parked rows join the node's backlog (sent as the concurrency bounds allow). */
  startDrained(rows: WebhookDeliveryDoc[]): void;
  /** A claimed parked row is the open endpoint's probe. */
  startProbe(d: WebhookDeliveryDoc): Promise<void>;
}

/** A parking write allowed now: the bucket its rows go into, and what to call once it answered. */
export interface Parking extends BucketRef {
  done(): void;
}

interface Held {
  tenantId: string;
  /** This node's buckets of the endpoint. */
  buckets: ParkedBuckets;
  /** The record is written (renewed) and its lease runs until then (Clock ms); 0: not written yet. */
  until: number;
  /** Parking writes (inserts, retry outcomes) sent and not answered yet. */
  writes: number;
  /** Counts parking writes started: a drain that found nothing releases the record only if none started since its query. */
  seq: number;
}

/**
 * Rows waiting for an endpoint's open circuit (issue 14) are parked: `parked: true` in webhook_pending,
 * free of any lease, left out of every due-rows scan by an equality FerretDB pushes down, so a long
 * outage's rows cost the scans nothing. What makes sure they are sent: the node that parks rows of an
 * endpoint first writes a record of it (ParkedEndpointsRepository) and renews it while it lives; it parks
 * only while that record's lease holds (minus a margin for clocks). When the endpoint's circuit closes
 * (a 2xx, a change, a replay) the node drains the endpoint's parked rows, whoever parked them: batches by
 * `endpoint_id` and `parked` equality (no sorted range scan), each row claimed conditionally on still
 * being parked, so of several nodes draining one endpoint one claim takes each row. While the circuit is
 * open, the probe is a parked row when no held retry is due. A record whose lease ran out is a node that
 * died: another node records the endpoint itself first, then opens its circuit with the probe due at
 * once, then deletes the dead record; its probe and drain deliver the rows. A node releases its record
 * once a drain found no parked row, its circuit is closed and no parking write started meanwhile.
 *
 * Buckets (ParkedBuckets): a parked row also carries `parked_bucket` and `parked_slot`, and goes only into
 * a bucket whose document is stored already (ParkedEndpointsRepository.openBucket). The drain lists the
 * endpoint's buckets once, then reads one bucket per batch by equality (`endpoint_id`, `parked_slot`, `parked_bucket`):
 * FerretDB decodes, and PostgreSQL returns, one bucket's rows, not all the endpoint's parked rows. After
 * the last bucket one query the old way (without a bucket) finds what the walk could not: rows parked
 * before buckets existed, or into a bucket opened after the walk began; it is empty before the record
 * goes. The expiry (expire) reads the slots whose windows began (`parked_slot` equality) and the rows not
 * parked (`parked $ne true`), never the endpoint's other parked rows. A bucket's document goes when its
 * node drops its record (nothing parked is left then) or when its slot ended a lease ago and the expiry
 * found none of its rows parked (no row can be parked into it any more).
 */
export class ParkedEndpoints {
  private readonly logger = new Logger('ParkedEndpoints');
  private readonly held = new Map<string, Held>();
  /** Endpoints whose drain is running (Clock ms it started): its next batch follows when the backlog is empty. */
  private readonly draining = new Map<string, number>();
  /** The buckets a running drain has still to read, in order. */
  private readonly walks = new Map<string, BucketRef[]>();
  /** Endpoints this process found no row of parked without a bucket (written before buckets): the expiry stops looking for them. */
  private readonly legacyClear = new Set<string>();
  private nextRenew = -Infinity;
  private nextSweep = -Infinity;

  constructor(
    private readonly records: ParkedEndpointsRepository,
    private readonly parkedRows: ParkedRowsRepository,
    private readonly breakers: EndpointBreakers,
    private readonly leaseMs: number,
    /** WEBHOOK_RETRY_WINDOW_SECONDS in ms: fresh rows' windows end this long after now (their bucket is written ahead). */
    private readonly retryWindowMs: number,
    private readonly now: () => number,
    private readonly host: ParkingHost,
  ) {}

  /** The endpoint's circuit opened here: its record is written, after which its rows may be parked. */
  opened(endpointId: string, tenantId: string): void {
    if (this.held.has(endpointId)) return;
    this.held.set(endpointId, this.newHeld(endpointId, tenantId));
    void this.write(endpointId);
  }

  /**
   * Starts a parking write of a row of the endpoint whose retry window ends at `retryUntil`, if its record
   * holds now and a bucket for it is stored: the bucket, and what to call once the write answered; else null.
   */
  park(endpointId: string, retryUntil: number, now = this.now()): Parking | null {
    const h = this.held.get(endpointId);
    // A margin of a quarter lease: a node whose clock runs behind another's does not park under a record that one already sees run out.
    if (!h || now >= h.until - this.leaseMs / 4) return null;
    const bucket = h.buckets.take(retryUntil);
    if (!bucket) return null;
    h.writes++;
    h.seq++;
    return { ...bucket, done: () => void h.writes-- };
  }

  /**
   * Called by the dispatcher's scans: renews this node's records (every lease / 4), and (every lease / 2)
   * takes over the endpoints of records whose lease ran out and drains those held here whose circuit is closed.
   */
  tick(): void {
    const now = this.now();
    if (now >= this.nextRenew || now < this.nextRenew - this.leaseMs) {
      this.nextRenew = now + this.leaseMs / 4;
      for (const [id, h] of this.held) {
        h.buckets.prune(now, this.leaseMs);
        void this.write(id);
      }
    }
    if (now >= this.nextSweep || now < this.nextSweep - this.leaseMs) {
      this.nextSweep = now + this.leaseMs / 2;
      void this.sweep(now).catch((err: Error) => this.logger.warn(`parked endpoints sweep failed: ${err.message}`));
    }
  }

  /**
   * Rows of endpoints whose circuit is open here that a scan found free, or their lease run out: rows a
   * node that does not deliver stored (WEBHOOK_DISPATCH_INTERVAL_MS=0: it has no circuit, so it parks
   * nothing), or a dead node's. Parked now, without an attempt, as a failed retry's outcome parks its row,
   * so a long outage's rows are not read again by every scan. A row with no bucket to go into yet (the
   * record or the bucket not stored) stays as it is, for a later scan.
   */
  async parkFound(rows: DueRow[], now: number): Promise<void> {
    const groups = new Map<string, { parking: Parking; probeAt: number; ids: string[] }>();
    for (const d of rows) {
      const probeAt = this.breakers.probeAt(d.endpoint_id);
      const parking = probeAt === null ? null : this.park(d.endpoint_id, new Date(d.retry_until).getTime(), now);
      if (!parking) continue;
      const key = `${d.endpoint_id}\u0000${parking.key}`;
      const g = groups.get(key);
      if (!g) groups.set(key, { parking, probeAt: probeAt!, ids: [d._id] });
      else {
        // One write parks the group: its first parking stands for the others while it runs.
        g.ids.push(d._id);
        parking.done();
      }
    }
    for (const { parking, probeAt, ids } of groups.values()) {
      try {
        await this.parkedRows.parkFree(ids, new Date(now), { next_attempt_at: new Date(Math.max(probeAt, now)), parked_bucket: parking.key, parked_slot: parking.slot });
      } catch (err) {
        this.logger.warn(`could not park rows found by a scan: ${(err as Error).message}`);
      } finally {
        parking.done();
      }
    }
  }

  /** Endpoints held here whose circuit is open with its probe due now (the scan starts one from a parked row when no held retry is the probe). */
  probesDue(now: number): string[] {
    return [...this.held.keys()].filter((id) => this.breakers.probeAt(id) !== null && !this.breakers.blocked(id, now));
  }

  /** The probe of an open endpoint from its parked rows: one claimed, or none (the probe ends). */
  async probe(endpointId: string, now: number): Promise<void> {
    if (!this.breakers.admit(endpointId, now)) return;
    try {
      // This node's last bucket first (one bucket's rows), else the old way (all the endpoint's parked rows, by equalities).
      const last = this.held.get(endpointId)?.buckets.last;
      let ids = last ? await this.parkedRows.parkedIds(endpointId, 1, last) : [];
      if (!ids.length) ids = await this.parkedRows.parkedIds(endpointId, 1);
      const [d] = ids.length ? await this.parkedRows.claimParked(ids, new Date(now), this.leaseMs, this.host.claimToken()) : [];
      if (d) return await this.host.startProbe(d);
    } catch (err) {
      // A claimed probe not started is left to its lease (any node's full scan then).
      this.logger.warn(`could not start a probe from parked rows: ${(err as Error).message}`);
    }
    this.breakers.probeEnded(endpointId);
  }

  /**
   * Drains the endpoint's parked rows while its circuit is closed here: a batch now, the next when the
   * backlog is empty (backlogEmpty). A new drain lists the buckets afresh; `resume` goes on with the walk.
   */
  drain(endpointId: string, resume = false): void {
    const now = this.now();
    const started = this.draining.get(endpointId);
    // A drain whose batch never reached the backlog (an error) is over after a lease.
    if ((started !== undefined && now - started < this.leaseMs && now >= started) || this.breakers.probeAt(endpointId) !== null) return;
    this.draining.set(endpointId, now);
    if (!resume) this.walks.delete(endpointId);
    void this.drainBatch(endpointId).catch((err: Error) => {
      this.draining.delete(endpointId);
      this.logger.warn(`could not drain parked webhook rows: ${err.message}`);
    });
  }

  /** The node's backlog of the endpoint is empty: a running drain takes its next batch. */
  backlogEmpty(endpointId: string): void {
    if (!this.draining.delete(endpointId)) return;
    this.drain(endpointId, true);
  }

  /**
   * The endpoint failed again (its circuit is open): its rows past their retry window that no other node
   * holds move to the log as dead letters. Reads the rows not parked, then the parked rows of each slot
   * whose windows began (listed by the buckets' documents), and while rows parked before buckets may be
   * left, all its parked rows the old way. Returns the ids that left.
   */
  async expire(endpointId: string, now: number, owners: string[], lastError: string): Promise<string[]> {
    const at = new Date(now);
    const gone = (await this.parkedRows.expireWaiting(endpointId, at, owners, lastError, 'unparked')).ids;
    const buckets = await this.records.bucketsOf(endpointId);
    for (const slot of new Set(buckets.filter((b) => new Date(b.retry_from).getTime() <= now).map((b) => b.slot))) {
      const r = await this.parkedRows.expireWaiting(endpointId, at, owners, lastError, { slot });
      gone.push(...r.ids);
      // No row can be parked into a slot whose windows ended (a lease's margin for writes in flight and clocks): its empty buckets go.
      if ((slot + 1) * PARKED_SLOT_MS + this.leaseMs > now) continue;
      const left = new Set(r.left);
      await this.records.removeBuckets(buckets.filter((b) => b.slot === slot && !left.has(b.key)).map((b) => b._id));
    }
    if (!this.legacyClear.has(endpointId)) {
      const r = await this.parkedRows.expireWaiting(endpointId, at, owners, lastError, 'unbucketed');
      gone.push(...r.ids);
      if (!r.left.length) this.legacyClear.add(endpointId);
    }
    return gone;
  }

  private async drainBatch(endpointId: string): Promise<void> {
    const h = this.held.get(endpointId);
    const seq = h?.seq;
    let walk = this.walks.get(endpointId);
    if (!walk) this.walks.set(endpointId, (walk = (await this.records.bucketsOf(endpointId)).map((b) => ({ key: b.key, slot: b.slot }))));
    let ids: string[] = [];
    while (walk.length && !ids.length) {
      ids = await this.parkedRows.parkedIds(endpointId, DRAIN_BATCH, walk[0]);
      // Less than a batch: the bucket is done once these are claimed (a row parked into it meanwhile is found by the last query).
      if (ids.length < DRAIN_BATCH) walk.shift();
    }
    // Every bucket read: the old way, once empty (rows parked before buckets, or into a bucket opened after the walk began).
    if (!ids.length) ids = await this.parkedRows.parkedIds(endpointId, DRAIN_BATCH);
    if (!ids.length) {
      this.draining.delete(endpointId);
      this.walks.delete(endpointId);
      // Nothing parked is left: the record and its buckets go, unless rows may be parked meanwhile (a write in flight or started since, or the circuit open again).
      if (h && this.held.get(endpointId) === h && h.writes === 0 && h.seq === seq && this.breakers.probeAt(endpointId) === null) {
        this.held.delete(endpointId);
        await this.records.remove(endpointId, this.host.nodeId);
        await this.records.removeBucketsOf(endpointId, h.buckets.owner);
      }
      return;
    }
    const rows = await this.parkedRows.claimParked(ids, new Date(this.now()), this.leaseMs, this.host.claimToken());
    if (!rows.length) {
      // Another node took them: look again.
      this.draining.delete(endpointId);
      return this.drain(endpointId, true);
    }
    this.host.startDrained(rows);
  }

  private newHeld(endpointId: string, tenantId: string): Held {
    const failed = (err: Error) => this.logger.warn(`could not record a bucket of parked webhook rows: ${err.message}`);
    const buckets = new ParkedBuckets(endpointId, tenantId, this.host.nodeId, (doc) => this.records.openBucket(doc), failed);
    return { tenantId, buckets, until: 0, writes: 0, seq: 0 };
  }

  /** Writes (renews) this node's record of the endpoint; its lease counts from before the write was sent. */
  private async write(endpointId: string): Promise<void> {
    const h = this.held.get(endpointId);
    if (!h) return;
    const until = this.now() + this.leaseMs;
    try {
      // With the bucket for rows recorded now (a row is parked only into a stored bucket).
      await Promise.all([this.records.hold(endpointId, h.tenantId, this.host.nodeId, new Date(until)), h.buckets.prepare(this.now() + this.retryWindowMs)]);
      h.until = Math.max(h.until, until);
    } catch (err) {
      this.logger.warn(`could not record a parked webhook endpoint: ${(err as Error).message}`);
    }
  }

  private async sweep(now: number): Promise<void> {
    for (const r of await this.records.all()) {
      if (r.node === this.host.nodeId || new Date(r.lease_until).getTime() > now) continue;
      // Recorded here first, so the endpoint never lacks a live record while its rows are parked.
      if (!this.held.has(r.endpoint_id)) this.held.set(r.endpoint_id, this.newHeld(r.endpoint_id, r.tenant_id));
      await this.write(r.endpoint_id);
      if (!(this.held.get(r.endpoint_id)?.until ?? 0)) continue;
      // Its rows wait for a probe from here, due at once (a dead receiver is not hammered by a drain).
      this.breakers.openAt(r.endpoint_id, r.tenant_id, now);
      await this.records.remove(r.endpoint_id, r.node, new Date(now));
    }
    // Endpoints recorded here whose circuit is closed (a drain that failed, a record taken over while closed): drain them.
    for (const id of this.held.keys()) if (this.breakers.probeAt(id) === null) this.drain(id);
  }
}
