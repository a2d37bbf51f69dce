import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { isDuplicateKeyError, StoreDialect } from '@chat/database';
import { DeliveryStatus, WEBHOOK_ATTEMPT_MODEL, WEBHOOK_DELIVERY_MODEL, WebhookAttemptDoc, WebhookDeliveryDoc } from './webhook.schemas';

const FREE = new Date(0);
/**
 * Delivered rows whose status is written at the same time, where that is one write per row (FerretDB).
 * These writes bound how fast one endpoint is served (an attempt keeps its slot while 32 outcomes wait):
 * at 4 (in lock-step groups) they fell behind 100 events/s on a loaded 2-core machine (bench/RESULTS.md,
 * "Webhook delivery rate"); 8 still leaves most of the pool (MONGODB_POOL_SIZE) to the requests.
 */
const OUTCOME_WRITES_AT_ONCE = 8;

/** Outbox rows (webhook_deliveries) and their attempts (webhook_attempts). */
@Injectable()
export class WebhookDeliveriesRepository {
  constructor(
    @InjectModel(WEBHOOK_DELIVERY_MODEL) private readonly model: Model<WebhookDeliveryDoc>,
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
  async insertNew(rows: WebhookDeliveryDoc[]): Promise<Set<number>> {
    if (!rows.length) return new Set();
    try {
      const r = await this.model.collection.insertMany(rows as never[], { ordered: false });
      return insertedPositions(r.insertedIds, rows.length);
    } catch (err) {
      const bulk = Array.isArray((err as { writeErrors?: unknown }).writeErrors);
      if (!(bulk ? hasOnlyDuplicateErrors(err) : isDuplicateKeyError(err))) throw err;
      const ids = (err as { insertedIds?: Record<number, unknown> }).insertedIds;
      if (ids) return insertedPositions(ids, rows.length);
      // A lone duplicate reported as a plain error: nothing of this one-row insert was new.
      return new Set();
    }
  }

  /** Which of these event ids already have a row for the endpoint (the sweeper's cheap existence check). */
  async existingIds(ids: string[]): Promise<Set<string>> {
    // By bare _id on FerretDB (StoreDialect.readEach): an $in there would decode every row of the collection, 30 days of deliveries.
    const docs = await this.dialect.readEach(ids, {
      many: () => this.model.find({ _id: { $in: ids } }, { _id: 1 }).lean().exec() as Promise<Array<{ _id: unknown }>>,
      one: (id) => this.model.collection.findOne({ _id: id } as never, { projection: { _id: 1 } }) as Promise<{ _id: unknown } | null>,
    });
    return new Set(docs.map((d) => String(d._id)));
  }

  /**
   * Ids of due, unleased pending rows, oldest due first (candidates: claim() decides). Endpoints this
   * node already sends to at full concurrency are left out, so one endpoint's backlog cannot hide
   * every other endpoint's rows from the scan.
   */
  async dueIds(now: Date, limit: number, busyEndpoints: string[] = [], onlyFree = false): Promise<Array<{ _id: string; endpoint_id: string; leased?: boolean }>> {
    return (await this.model
      .find(
        {
          status: 'pending',
          // Rows never leased or released by an outcome: an equality FerretDB pushes down (WebhookDeliveryDoc.leased).
          ...(onlyFree ? { leased: false } : {}),
          next_attempt_at: { $lte: now },
          lease_until: { $lte: now },
          ...(busyEndpoints.length ? { endpoint_id: { $nin: busyEndpoints } } : {}),
        },
        { _id: 1, endpoint_id: 1, leased: 1 },
      )
      .sort({ next_attempt_at: 1 })
      .limit(limit)
      .lean()
      .exec()) as Array<{ _id: string; endpoint_id: string; leased?: boolean }>;
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
    const lease = { $set: { lease_until: new Date(now.getTime() + leaseMs), lease_owner: token, leased: true } };
    return this.dialect.changeEach('webhook_deliveries', ids, {
      many: async () => {
        const r = await this.model.updateMany({ _id: { $in: ids }, ...free }, lease).exec();
        if (!r.modifiedCount) return [];
        return (await this.model.find({ _id: { $in: ids }, lease_owner: token }).lean().exec()) as WebhookDeliveryDoc[];
      },
      one: async (id) => (await this.model.findOneAndUpdate({ _id: id, ...free }, lease, { new: true }).lean().exec()) as WebhookDeliveryDoc | null,
    });
  }

  /** Takes the lease of one row (the test ping). */
  async claim(id: string, now: Date, leaseMs: number, token: string): Promise<WebhookDeliveryDoc | null> {
    return (await this.claimMany([id], now, leaseMs, token))[0] ?? null;
  }

  /** Records the outcome of the attempt this owner holds; the lease is released. */
  finish(id: string, owner: string, set: Partial<WebhookDeliveryDoc>): Promise<WebhookDeliveryDoc | null> {
    return this.dialect.serialised('webhook_deliveries', id, async () =>
      (await this.model
        .findOneAndUpdate({ _id: id, lease_owner: owner }, { $set: { ...set, lease_until: FREE, lease_owner: null, leased: false } }, { new: true })
        .lean()
        .exec()) as WebhookDeliveryDoc | null,
    );
  }

  /**
   * Marks delivered rows whose attempt got the same 2xx: the common outcome, so on MongoDB a burst of
   * deliveries costs one updateMany (per row on FerretDB). Only rows held by one of `owners` (this
   * node's claim tokens) change. Attempts count up with `$inc`, which is what the lease holder's per-row
   * `attempts + 1` would have written.
   *
   * On FerretDB without the document lock (StoreDialect.changeEachUnlocked): while the lease holds,
   * nothing else writes the row (claims want a lease that ran out; replay and purge want a finished
   * row). The only competitor is a claim by another node after this lease ran out, and whichever of the
   * two non-atomic writes wins, the event is delivered again under that claim or not at all: the
   * documented redelivery after a lease ran out (same X-Webhook-Id). A cancellation racing it may
   * leave the row cancelled though delivered, as it could before.
   */
  async finishDelivered(ids: string[], owners: string[], statusCode: number, at: Date): Promise<number> {
    const update = {
      $set: { status: 'delivered', last_status_code: statusCode, last_error: null, delivered_at: at, updated_at: at, lease_until: FREE, lease_owner: null, leased: false },
      $inc: { attempts: 1 },
    };
    const held = { lease_owner: { $in: owners } };
    const changed = await this.dialect.changeEachUnlocked(
      ids,
      {
        many: async () => [(await this.model.updateMany({ _id: { $in: ids }, ...held }, update).exec()).modifiedCount],
        // The driver's own updateOne: one per delivered row on FerretDB, so no Mongoose casting per row (the values are already typed).
        one: async (id) => (await this.model.collection.updateOne({ _id: id, ...held } as never, update)).modifiedCount,
      },
      // Outcomes are bookkeeping: a few writes at a time leave the pool and FerretDB to the requests.
      OUTCOME_WRITES_AT_ONCE,
    );
    return changed.reduce((a, n) => a + n, 0);
  }

  async recordAttempt(a: Omit<WebhookAttemptDoc, '_id'>): Promise<void> {
    await this.attempts.create(a);
  }

  /** Attempt logs of several attempts in one insert. */
  async recordAttempts(list: Array<Omit<WebhookAttemptDoc, '_id'>>): Promise<void> {
    if (list.length) await this.attempts.insertMany(list);
  }

  async attemptsOf(deliveryId: string): Promise<WebhookAttemptDoc[]> {
    return (await this.attempts.find({ delivery_id: deliveryId }).sort({ at: 1 }).limit(500).lean().exec()) as WebhookAttemptDoc[];
  }

  async find(endpointId: string, id: string): Promise<WebhookDeliveryDoc | null> {
    return (await this.model.findOne({ _id: id, endpoint_id: endpointId }).lean().exec()) as WebhookDeliveryDoc | null;
  }

  /** Newest first; cursor: `<created_at ms>_<id>` of the last row of the previous page. */
  async list(endpointId: string, q: { status?: DeliveryStatus; cursor?: string; limit: number }): Promise<WebhookDeliveryDoc[]> {
    const filter: Record<string, unknown> = { endpoint_id: endpointId };
    if (q.status) filter.status = q.status;
    const m = q.cursor ? /^(\d+)_(.+)$/.exec(q.cursor) : null;
    if (m) {
      const at = new Date(Number(m[1]));
      filter.$or = [{ created_at: { $lt: at } }, { created_at: at, _id: { $lt: m[2] } }];
    }
    return (await this.model.find(filter).sort({ created_at: -1, _id: -1 }).limit(q.limit).lean().exec()) as WebhookDeliveryDoc[];
  }

  /** Puts rows back in the queue now, with a fresh retry window (same event id: receivers dedupe). */
  async requeue(filter: { endpoint_id: string; _id?: string; since?: Date }, now: Date, retryUntil: Date): Promise<number> {
    const f: Record<string, unknown> = { endpoint_id: filter.endpoint_id, status: { $ne: 'pending' } };
    if (filter._id) f._id = filter._id;
    if (filter.since) f.created_at = { $gte: filter.since };
    const r = await this.model
      .updateMany(f, { $set: { status: 'pending', next_attempt_at: now, retry_until: retryUntil, lease_until: FREE, lease_owner: null, leased: false, updated_at: now } })
      .exec();
    return r.modifiedCount;
  }

  /** Deletes finished rows whose last attempt was before `before`, and attempt logs older than that. */
  async purgeFinished(before: Date): Promise<number> {
    const r = await this.model.deleteMany({ status: { $in: ['delivered', 'cancelled', 'dead'] }, next_attempt_at: { $lt: before } }).exec();
    await this.attempts.deleteMany({ at: { $lt: before } }).exec();
    return r.deletedCount ?? 0;
  }

  /** Pending rows of an endpoint that will not be sent (endpoint deleted or turned off). */
  async cancelPending(endpointId: string, now: Date): Promise<void> {
    await this.model.updateMany({ endpoint_id: endpointId, status: 'pending' }, { $set: { status: 'cancelled', updated_at: now } }).exec();
  }
}

/** The positions named by insertMany's insertedIds (the driver leaves out the rows that failed). */
function insertedPositions(ids: Record<number, unknown>, n: number): Set<number> {
  return new Set(Object.keys(ids).map(Number).filter((i) => Number.isInteger(i) && i >= 0 && i < n));
}

/** insertMany(ordered: false) reports all duplicate-key failures in one bulk error. */
function hasOnlyDuplicateErrors(err: unknown): boolean {
  const errors = (err as { writeErrors?: Array<{ code?: number; err?: { code?: number } }> }).writeErrors;
  return Array.isArray(errors) && errors.length > 0 && errors.every((e) => (e.code ?? e.err?.code) === 11000);
}
