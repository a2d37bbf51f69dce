import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { FilterQuery, Model } from 'mongoose';
import { insertNewOnly, onlyDuplicateKeys, StoreDialect } from '@chat/database';
import type { WebhookDeliveryStatus } from '@chat/contracts';
import type { BucketRef } from './parked-buckets';
import {
  AttemptRecord,
  WEBHOOK_ATTEMPT_MODEL,
  WEBHOOK_DELIVERY_MODEL,
  WEBHOOK_PENDING_MODEL,
  WebhookAttemptDoc,
  WebhookDeliveryDoc,
} from './webhook.schemas';

const FREE = new Date(0);
/** A row's fields once no lease holds it. */
const RELEASED = { lease_until: FREE, lease_owner: null, leased: false };
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
  constructor(
    @InjectModel(WEBHOOK_PENDING_MODEL) private readonly model: Model<WebhookDeliveryDoc>,
    @InjectModel(WEBHOOK_DELIVERY_MODEL) private readonly log: Model<WebhookDeliveryDoc>,
    @InjectModel(WEBHOOK_ATTEMPT_MODEL) private readonly attempts: Model<WebhookAttemptDoc>,
    private readonly dialect: StoreDialect,
  ) {}

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
    return this.takeLeases(ids, now, leaseMs, token, free, () => free);
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
    return this.takeLeases(ids, now, leaseMs, token, { status: 'pending', lease_owner: { $in: owners } }, (id) => ({ status: 'pending', lease_owner: ownerOf.get(id) }));
  }

  /**
   * Leases to `token` the rows of `ids` that match (claimMany, claimOwn): `all` for the rows together,
   * `each(id)` for one row at a time, as StoreDialect.changeEach takes them (one stamping updateMany and a
   * find by token on MongoDB, a conditional findOneAndUpdate per row under its lock on FerretDB).
   */
  private takeLeases(ids: string[], now: Date, leaseMs: number, token: string, all: FilterQuery<WebhookDeliveryDoc>, each: (id: string) => FilterQuery<WebhookDeliveryDoc>): Promise<WebhookDeliveryDoc[]> {
    // A claimed row is no longer parked (a parked row's claim is conditional on `parked: true`: one claim wins).
    const lease = { $set: { lease_until: new Date(now.getTime() + leaseMs), lease_owner: token, leased: true, parked: false } };
    return this.dialect.changeEach('webhook_deliveries', ids, {
      many: async () => {
        const r = await this.model.updateMany({ _id: { $in: ids }, ...all }, lease).exec();
        if (!r.modifiedCount) return [];
        return (await this.model.find({ _id: { $in: ids }, lease_owner: token }).lean().exec()) as WebhookDeliveryDoc[];
      },
      one: async (id) => (await this.model.findOneAndUpdate({ _id: id, ...each(id) }, lease, { new: true }).lean().exec()) as WebhookDeliveryDoc | null,
    });
  }

  /**
   * Up to `limit` ids of the endpoint's parked rows (ParkedEndpoints drains them), of one bucket when given.
   * Equalities only, no sort: FerretDB decodes the rows it returns; PostgreSQL filters the whole table (no
   * index serves FerretDB's jsonb containment, nor is the limit pushed down) and sends the matching rows:
   * one bucket's, or all the endpoint's. On MongoDB the index `{endpoint_id, parked, parked_slot, parked_bucket}`.
   */
  async parkedIds(endpointId: string, limit: number, bucket?: BucketRef): Promise<string[]> {
    const one = bucket ? { parked_slot: bucket.slot, parked_bucket: bucket.key } : {};
    const filter = { endpoint_id: endpointId, ...one, status: 'pending', parked: true };
    const rows = await this.model.find(filter, { _id: 1 }).limit(limit).lean().exec();
    return rows.map((d) => String(d._id));
  }

  /** Takes the leases of parked rows (whoever parked them): of several nodes draining one endpoint, one claim takes each row. */
  claimParked(ids: string[], now: Date, leaseMs: number, token: string): Promise<WebhookDeliveryDoc[]> {
    const parked = { status: 'pending', parked: true };
    return this.takeLeases(ids, now, leaseMs, token, parked, () => parked);
  }

  /**
   * Parks rows a scan found free (or their lease run out) of an endpoint whose circuit is open
   * (ParkedEndpoints.parkFound), into the bucket `set` names, due at the probe: each only while no lease holds it, so of
   * this and a claim one wins (a claim's write, or this one under the row's lock on FerretDB). Nothing is
   * read back: a row a claim took first is simply not parked.
   */
  async parkFree(ids: string[], now: Date, set: { next_attempt_at: Date; parked_bucket: string; parked_slot: number }): Promise<void> {
    const free = { status: 'pending', parked: { $ne: true }, lease_until: { $lte: now } };
    const park = { $set: { ...set, ...RELEASED, parked: true, updated_at: now } };
    await this.dialect.changeEach('webhook_deliveries', ids, {
      many: async () => {
        await this.model.updateMany({ _id: { $in: ids }, ...free }, park).exec();
        return [];
      },
      one: async (id) => {
        await this.model.updateOne({ _id: id, ...free }, park).exec();
        return null;
      },
    });
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
      await this.moveToLog([{ ...row, ...set, ...RELEASED }], { lease_owner: owner });
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
    return this.moveToLog(done, { lease_owner: { $in: owners } });
  }

  /**
   * Moves finished rows to the log: written there first, then removed from the pending rows where
   * `stillOurs` matches (a crash between the two leaves both, never neither). Returns how many left.
   */
  private async moveToLog(rows: WebhookDeliveryDoc[], stillOurs: Record<string, unknown>): Promise<number> {
    await this.logRows(rows);
    // One row by bare _id (an index lookup on FerretDB); several by $in per endpoint: FerretDB does not
    // push an `_id $in` down, so it reads every pending row the rest of the filter lets through, and the
    // endpoint's equality (pushed down) keeps out the rows other endpoints have waiting — a dead endpoint
    // piles up thousands (bench/RESULTS.md, "Delivered rows leave webhook_pending by endpoint").
    // Rows that carry a bucket (drained, expired) by its equality too: a drain's delivered batch then reads
    // that bucket's rows, not every row the endpoint has parked.
    if (rows.length === 1) return (await this.model.deleteMany({ _id: rows[0]!._id, ...stillOurs }).exec()).deletedCount ?? 0;
    let deleted = 0;
    for (const [endpointId, bucket, ids] of idsByBucket(rows)) {
      const where = { _id: { $in: ids }, endpoint_id: endpointId, ...(bucket === undefined ? {} : { parked_bucket: bucket }), ...stillOurs };
      deleted += (await this.model.deleteMany(where).exec()).deletedCount ?? 0;
    }
    return deleted;
  }

  /** Moves rows back to pending: inserted there first, then removed from the log where `stillThere` matches. Returns how many were inserted. */
  private async moveToPending(rows: WebhookDeliveryDoc[], stillThere: Record<string, unknown>): Promise<number> {
    const inserted = (await this.insertNew(rows)).size;
    // Per endpoint, as in moveToLog: the log holds every endpoint's 30 days of rows.
    for (const [endpointId, , ids] of idsByBucket(rows)) await this.log.deleteMany({ _id: { $in: ids }, endpoint_id: endpointId, ...stillThere }).exec();
    return inserted;
  }

  /**
   * Writes finished rows to the log: one insert; a row already there (a redelivery, a cancellation
   * overtaken by its attempt's outcome, a replay that crashed half-way) is replaced by the newer outcome.
   * The lease fields stay behind: a finished row has no lease, and a replay sets them afresh (requeue);
   * every field of every row goes through FerretDB into PostgreSQL beside the sends' own writes.
   */
  private async logRows(finished: WebhookDeliveryDoc[]): Promise<void> {
    // The parked mark stays behind too: a replayed row must not come back parked (ParkedEndpoints drains only what a record covers).
    const rows = finished.map(({ lease_until: _u, lease_owner: _o, leased: _l, parked: _p, parked_bucket: _b, parked_slot: _s, ...kept }) => kept);
    try {
      await this.log.collection.insertMany(rows as never[], { ordered: false });
    } catch (err) {
      const errors = (err as { writeErrors?: Array<{ index?: number; err?: { index?: number } }> }).writeErrors;
      if (!onlyDuplicateKeys(err)) throw err;
      // The rows that failed, by the errors' positions (a lone error without them: all, replacing is idempotent).
      const failed = Array.isArray(errors) ? errors.map((e) => e.index ?? e.err?.index ?? -1) : rows.map((_, i) => i);
      const redo = failed.some((i) => i < 0) ? rows : failed.map((i) => rows[i]!);
      for (const d of redo) await this.log.collection.replaceOne({ _id: d._id } as never, d as never, { upsert: true });
    }
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
    await this.moveToLog(
      rows.map((d) => ({ ...d, status: 'cancelled' as const, updated_at: now, ...RELEASED })),
      { endpoint_id: endpointId },
    );
  }

  /**
   * The endpoint's pending rows past their retry window that no other node holds (lease run out, or leased
   * by one of `owners`, this node's tokens) move to the log as dead letters, without an attempt (its circuit
   * is open). `where` picks what is read (FerretDB decodes only that): the rows not parked, the parked rows
   * of one slot of windows (ParkedBuckets), or all parked rows, of which those without a slot (parked before
   * buckets) count. One read, one log insert, one conditional delete (a row claimed meanwhile stays; its
   * outcome replaces the dead copy). Returns the ids that left and the buckets of the parked rows that stay.
   */
  async expireWaiting(endpointId: string, now: Date, owners: string[], lastError: string, where: 'unparked' | 'unbucketed' | { slot: number }): Promise<{ ids: string[]; left: string[] }> {
    const notHeldElsewhere = { $or: [{ lease_until: { $lte: now } }, { lease_owner: { $in: owners } }] };
    const base = { endpoint_id: endpointId, status: 'pending' };
    const filter =
      where === 'unparked'
        ? { ...base, parked: { $ne: true }, retry_until: { $lte: now }, ...notHeldElsewhere }
        : { ...base, parked: true, ...(where === 'unbucketed' ? {} : { parked_slot: where.slot }) };
    let read = (await this.model.find(filter).lean().exec()) as WebhookDeliveryDoc[];
    if (where === 'unbucketed') read = read.filter((d) => d.parked_slot === undefined);
    const t = now.getTime();
    const due = (d: WebhookDeliveryDoc) => new Date(d.retry_until).getTime() <= t && (new Date(d.lease_until).getTime() <= t || owners.includes(d.lease_owner ?? ''));
    const rows = read.filter(due);
    const left = where === 'unparked' ? [] : read.filter((d) => !due(d)).map((d) => d.parked_bucket ?? '');
    if (rows.length) {
      await this.moveToLog(
        rows.map((d) => ({ ...d, status: 'dead' as const, last_error: lastError, updated_at: now, ...RELEASED })),
        notHeldElsewhere,
      );
    }
    return { ids: rows.map((d) => d._id), left };
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

/** The rows' ids grouped by their endpoint and bucket (equalities FerretDB pushes down, unlike an `_id $in`; rows from the log carry no bucket). */
function idsByBucket(rows: WebhookDeliveryDoc[]): Array<[string, string | undefined, string[]]> {
  const by = new Map<string, [string, string | undefined, string[]]>();
  for (const d of rows) {
    const k = `${d.endpoint_id}\u0000${d.parked_bucket ?? ''}`;
    const g = by.get(k);
    if (g) g[2].push(d._id);
    else by.set(k, [d.endpoint_id, d.parked_bucket, [d._id]]);
  }
  return [...by.values()];
}
