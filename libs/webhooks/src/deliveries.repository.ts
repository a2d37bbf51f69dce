import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { insertNewOnly, StoreDialect } from '@chat/database';
import type { WebhookDeliveryStatus } from '@chat/contracts';
import { idsByBucket, PendingRowWrites, RELEASED } from './pending-row-writes';
import {
  AttemptRecord,
  WEBHOOK_ATTEMPT_MODEL,
  WEBHOOK_DELIVERY_MODEL,
  WEBHOOK_PENDING_MODEL,
  WebhookAttemptDoc,
  WebhookDeliveryDoc,
} from './webhook.schemas';

/** A due-rows scan's candidate. */
export type DueRow = Pick<WebhookDeliveryDoc, '_id' | 'endpoint_id' | 'leased' | 'retry_until'>;
/** Rows a requeue moves per round trip. */
const REQUEUE_PAGE = 500;

/**
 * Outbox rows and their attempts (webhook_attempts). Pending rows live in `webhook_pending` (`model`),
 * finished ones in the log `webhook_deliveries` (`log`): see WebhookDeliveryDoc. A row moves by being
 * written to its new collection first and removed from the old one second, so a crash between the two
 * leaves it in both, never in neither; readers prefer the pending copy, and a pending copy left next to
 * a finished one is attempted again when its lease runs out (a documented redelivery, same X-Webhook-Id).
 */
@Injectable()
export class WebhookDeliveriesRepository {
  /** Leases taken and moves to the log (shared with ParkedRowsRepository). */
  private readonly writes: PendingRowWrites;

  constructor(
    @InjectModel(WEBHOOK_PENDING_MODEL) private readonly model: Model<WebhookDeliveryDoc>,
    @InjectModel(WEBHOOK_DELIVERY_MODEL) private readonly log: Model<WebhookDeliveryDoc>,
    @InjectModel(WEBHOOK_ATTEMPT_MODEL) private readonly attempts: Model<WebhookAttemptDoc>,
    private readonly dialect: StoreDialect,
  ) {
    this.writes = new PendingRowWrites(model, log, dialect);
  }

  /**
   * Inserts the rows that do not exist yet (ids are deterministic: a row recorded twice stays one).
   * Returns how many were new.
   */
  async insertIfAbsent(rows: WebhookDeliveryDoc[]): Promise<number> {
    return (await this.insertNew(rows)).size;
  }

  /**
   * One insertMany of rows (unordered): the positions in `rows` of those that were inserted. A row whose
   * id exists already (recorded by another path or node) is left out, not an error.
   */
  insertNew(rows: WebhookDeliveryDoc[]): Promise<Set<number>> {
    return insertNewOnly(this.model.collection, rows);
  }

  /** Which of these row ids exist already, pending or finished (the sweeper's cheap existence check). */
  async existingIds(ids: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const model of [this.model, this.log]) {
      const left = ids.filter((id) => !found.has(id));
      // By bare _id on FerretDB (StoreDialect.readEach): an $in on the log there would decode every row of it, 30 days of deliveries.
      const docs = await this.dialect.readEach(left, {
        many: () => model.find({ _id: { $in: left } }, { _id: 1 }).lean().exec() as Promise<Array<{ _id: unknown }>>,
        one: (id) => model.collection.findOne({ _id: id } as never, { projection: { _id: 1 } }) as Promise<{ _id: unknown } | null>,
      });
      for (const d of docs) found.add(String(d._id));
    }
    return found;
  }

  /**
   * Ids of due, unleased pending rows, oldest due first (candidates: claimMany() decides). Endpoints this
   * node already sends to at full concurrency are left out, so one endpoint's backlog cannot hide
   * every other endpoint's rows from the scan.
   */
  async dueIds(now: Date, limit: number, busyEndpoints: string[] = [], onlyFree = false, withoutParkedField = false): Promise<DueRow[]> {
    return (await this.model
      .find(
        {
          status: 'pending',
          // Rows never leased or released by an outcome: an equality FerretDB pushes down (WebhookDeliveryDoc.leased).
          ...(onlyFree ? { leased: false } : {}),
          // Rows parked for an open circuit are drained by endpoint (ParkedEndpoints), never scanned (issue 14):
          // by equality (a GIN index on FerretDB: PostgreSQL does not pass over a long outage's rows), or by a
          // `$ne` (pushed down, not decoded) that also finds rows stored without the field (FullScanSchedule).
          parked: withoutParkedField ? { $ne: true } : false,
          next_attempt_at: { $lte: now },
          lease_until: { $lte: now },
          ...(busyEndpoints.length ? { endpoint_id: { $nin: busyEndpoints } } : {}),
        },
        { _id: 1, endpoint_id: 1, leased: 1, retry_until: 1 },
      )
      .sort({ next_attempt_at: 1 })
      .limit(limit)
      .lean()
      .exec()) as DueRow[];
  }

  /**
   * Takes the leases of several rows. On MongoDB in two round trips: an updateMany stamping every
   * still-free candidate with `token` (unique to this claim; each document's update is atomic, so of
   * several nodes racing for a row exactly one stamps it), then a find of the rows carrying it. On
   * FerretDB one conditional findOneAndUpdate by bare `_id` per row under its write lock (a Redis lease
   * across processes), as before (StoreDialect.changeEach says why).
   */
  claimMany(ids: string[], now: Date, leaseMs: number, token: string): Promise<WebhookDeliveryDoc[]> {
    const free = { status: 'pending', next_attempt_at: { $lte: now }, lease_until: { $lte: now } };
    return this.writes.takeLeases(ids, now, leaseMs, token, free, () => free);
  }

  /**
   * Takes again, under `token`, rows this node holds leased by `owners` (HeldRetries: their failed
   * attempt's claim, or the insert that parked them while their endpoint's circuit was open), whatever
   * their due time: a row still carrying one of this node's tokens is held by no one else. A row another
   * node took once its lease ran out carries that node's token and is not in the answer.
   */
  claimOwn(rows: Array<{ _id: string; owner?: string }>, now: Date, leaseMs: number, token: string): Promise<WebhookDeliveryDoc[]> {
    const ownerOf = new Map(rows.map((r) => [r._id, r.owner ?? '']));
    const ids = [...ownerOf.keys()];
    const owners = [...new Set(ownerOf.values())];
    return this.writes.takeLeases(ids, now, leaseMs, token, { status: 'pending', lease_owner: { $in: owners } }, (id) => ({ status: 'pending', lease_owner: ownerOf.get(id) }));
  }

  /**
   * Records the outcome of the attempt this owner holds (`row` as claimed). A final outcome (dead,
   * cancelled) moves the row to the log, released. A retry stays pending and stays leased by `owner`
   * until it is due (lease_until = next_attempt_at): the frequent scans for free rows (`leased: false`,
   * pushed down on FerretDB) then never read the rows waiting for a retry, however many a failing
   * receiver piles up; the owner's node retries it at its time, or, if it stopped, any node's full scan
   * once the lease ran out (as for a node that died). A retry with `parked: true` is released instead:
   * its endpoint's circuit is open and the row waits for it with the other parked rows.
   */
  async finish(row: WebhookDeliveryDoc, owner: string, set: Partial<WebhookDeliveryDoc>): Promise<void> {
    if (set.status && set.status !== 'pending') {
      await this.writes.moveToLog([{ ...row, ...set, ...RELEASED }], { lease_owner: owner });
      return;
    }
    // Parked (the endpoint's circuit is open): released, drained by endpoint later (ParkedEndpoints).
    const held = set.next_attempt_at && !set.parked ? { lease_until: set.next_attempt_at, lease_owner: owner, leased: true } : RELEASED;
    await this.dialect.serialised('webhook_deliveries', row._id, () =>
      this.model.updateOne({ _id: row._id, lease_owner: owner }, { $set: { ...set, ...held } }).exec(),
    );
  }

  /**
   * Delivered rows (as claimed) whose attempt got `statusCode`: the common outcome, so a burst of them
   * costs two round trips whatever the store: one insert into the log, one delete (per endpoint) of the
   * pending rows still held by one of `owners` (this node's claim tokens). The delete filters by `$in`
   * over the endpoint's pending rows only, which FerretDB scans (moveToLog says why), and needs no
   * document lock there: while a lease holds nothing else writes its row, and a claim by another node
   * after the lease ran out that the delete removes has already made its attempt, a documented
   * redelivery (same X-Webhook-Id) whose outcome lands in the log as this one did.
   */
  async finishDelivered(rows: WebhookDeliveryDoc[], owners: string[], statusCode: number, at: Date): Promise<number> {
    if (!rows.length) return 0;
    const done = rows.map((d) => ({ ...d, status: 'delivered' as const, attempts: d.attempts + 1, last_status_code: statusCode, last_error: null, delivered_at: at, updated_at: at, ...RELEASED }));
    return this.writes.moveToLog(done, { lease_owner: { $in: owners } });
  }

  /** Moves rows back to pending: inserted there first, then removed from the log where `stillThere` matches. Returns how many were inserted. */
  private async moveToPending(rows: WebhookDeliveryDoc[], stillThere: Record<string, unknown>): Promise<number> {
    const inserted = (await this.insertNew(rows)).size;
    // Per endpoint, as in moveToLog: the log holds every endpoint's 30 days of rows.
    for (const [endpointId, , ids] of idsByBucket(rows)) await this.log.deleteMany({ _id: { $in: ids }, endpoint_id: endpointId, ...stillThere }).exec();
    return inserted;
  }

  async recordAttempt(a: Omit<WebhookAttemptDoc, '_id'>): Promise<void> {
    await this.attempts.create(a);
  }

  /**
   * Attempt logs of several attempts in one insert, through the driver: the dispatcher builds them
   * complete (every field typed, nothing to cast or default), and Mongoose's insertMany made and cast a
   * full document of each first: ~170 of the delivery worker's ~1,200 µs per message (bench/RESULTS.md).
   */
  async recordAttempts(list: Array<Omit<WebhookAttemptDoc, '_id'>>): Promise<void> {
    if (list.length) await this.attempts.collection.insertMany(list.map((a) => ({ ...a })) as never[]);
  }

  /**
   * A delivery's attempts, oldest first: its attempt documents and the first attempt folded into the
   * row (a 2xx at the first try: WebhookDeliveryDoc.first_attempt), listed alike. Rows written before
   * the fold have a document for every attempt.
   */
  async attemptsOf(delivery: Pick<WebhookDeliveryDoc, '_id' | 'first_attempt'>): Promise<AttemptRecord[]> {
    const docs = (await this.attempts.find({ delivery_id: delivery._id }).sort({ at: 1 }).limit(500).lean().exec()) as AttemptRecord[];
    const f = delivery.first_attempt;
    if (!f) return docs;
    const first: AttemptRecord = { attempt: 1, at: new Date(f.at), status_code: f.status_code, latency_ms: f.latency_ms, error: null };
    // Attempts after the folded one (a replay's) come later; a lease-run-out redelivery's may interleave.
    return [first, ...docs].sort((a, b) => new Date(a.at).getTime() - new Date(b.at).getTime()).slice(0, 500);
  }

  /** The row, pending or finished (the pending copy when a move left both). */
  async find(endpointId: string, id: string): Promise<WebhookDeliveryDoc | null> {
    for (const model of [this.model, this.log]) {
      const d = (await model.findOne({ _id: id, endpoint_id: endpointId }).lean().exec()) as WebhookDeliveryDoc | null;
      if (d) return d;
    }
    return null;
  }

  /** Newest first; cursor: `<created_at ms>_<id>` of the last row of the previous page. Pending and finished rows merged. */
  async list(endpointId: string, q: { status?: WebhookDeliveryStatus; cursor?: string; limit: number }): Promise<WebhookDeliveryDoc[]> {
    const filter: Record<string, unknown> = { endpoint_id: endpointId };
    if (q.status) filter.status = q.status;
    const m = q.cursor ? /^(\d+)_(.+)$/.exec(q.cursor) : null;
    if (m) {
      const at = new Date(Number(m[1]));
      filter.$or = [{ created_at: { $lt: at } }, { created_at: at, _id: { $lt: m[2] } }];
    }
    const page = (model: Model<WebhookDeliveryDoc>) => model.find(filter).sort({ created_at: -1, _id: -1 }).limit(q.limit).lean().exec() as Promise<WebhookDeliveryDoc[]>;
    const pending = q.status && q.status !== 'pending' ? [] : await page(this.model);
    const finished = q.status === 'pending' ? [] : await page(this.log);
    const seen = new Set(pending.map((d) => d._id));
    const newestFirst = (a: WebhookDeliveryDoc, b: WebhookDeliveryDoc) =>
      new Date(b.created_at).getTime() - new Date(a.created_at).getTime() || (a._id < b._id ? 1 : a._id > b._id ? -1 : 0);
    return [...pending, ...finished.filter((d) => !seen.has(d._id))].sort(newestFirst).slice(0, q.limit);
  }

  /**
   * Puts finished rows back in the queue now, with a fresh retry window (same event id: receivers
   * dedupe): each is inserted pending, then removed from the log. Returns how many were requeued.
   */
  async requeue(filter: { endpoint_id: string; _id?: string; since?: Date }, now: Date, retryUntil: Date): Promise<number> {
    const f: Record<string, unknown> = { endpoint_id: filter.endpoint_id, status: { $ne: 'pending' } };
    if (filter._id) f._id = filter._id;
    if (filter.since) f.created_at = { $gte: filter.since };
    let requeued = 0;
    for (;;) {
      const rows = (await this.log.find(f).sort({ created_at: 1, _id: 1 }).limit(REQUEUE_PAGE).lean().exec()) as WebhookDeliveryDoc[];
      if (!rows.length) return requeued;
      const fresh = rows.map((d) => ({ ...d, status: 'pending' as const, next_attempt_at: now, retry_until: retryUntil, ...RELEASED, parked: false, updated_at: now }));
      requeued += await this.moveToPending(fresh, { status: { $ne: 'pending' } });
      if (rows.length < REQUEUE_PAGE) return requeued;
    }
  }

  /** Deletes finished rows whose last attempt was before `before`, and attempt logs older than that. */
  async purgeFinished(before: Date): Promise<number> {
    const r = await this.log.deleteMany({ status: { $in: ['delivered', 'cancelled', 'dead'] }, next_attempt_at: { $lt: before } }).exec();
    await this.attempts.deleteMany({ at: { $lt: before } }).exec();
    return r.deletedCount ?? 0;
  }

  /**
   * Pending rows of an endpoint that will not be sent (endpoint deleted or turned off) move to the log
   * as cancelled. An attempt already in flight still writes its outcome there (it replaces this one).
   */
  async cancelPending(endpointId: string, now: Date): Promise<void> {
    const rows = (await this.model.find({ endpoint_id: endpointId }).lean().exec()) as WebhookDeliveryDoc[];
    if (!rows.length) return;
    await this.writes.moveToLog(
      rows.map((d) => ({ ...d, status: 'cancelled' as const, updated_at: now, ...RELEASED })),
      { endpoint_id: endpointId },
    );
  }

  /**
   * Rows stored pending in the log by a version before pending rows had their own collection move to
   * it (once per process start; on an upgraded database this finds none). Returns how many moved.
   */
  async movePendingFromLog(): Promise<number> {
    const rows = (await this.log.find({ status: 'pending' }).lean().exec()) as WebhookDeliveryDoc[];
    if (!rows.length) return 0;
    await this.moveToPending(rows, { status: 'pending' });
    return rows.length;
  }
}
