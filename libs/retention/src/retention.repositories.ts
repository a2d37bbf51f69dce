import { Injectable } from '@nestjs/common';
import { InjectConnection, InjectModel } from '@nestjs/mongoose';
import type { Connection, FilterQuery, Model } from 'mongoose';
import { TenantConnectionResolver, TenantRepository } from '@chat/tenancy';
import {
  RETAINED_MESSAGE_MODEL,
  RETAINED_TOMBSTONE_MODEL,
  RETENTION_POLICY_MODEL,
  RETENTION_REPORT_MODEL,
  RetainedMessageDoc,
  RetainedTombstoneDoc,
  RetentionPolicyDoc,
  RetentionReportDoc,
} from './retention.schemas';
import { isDuplicateKeyError, StoreDialect } from '@chat/database';

export type RetainedBatch = Array<{ _id: unknown; id: string; conversationId: string }>;

/** Messages of the tenant in context, read and deleted in bounded batches. */
@Injectable()
export class RetainedMessagesRepository extends TenantRepository<RetainedMessageDoc> {
  constructor(@InjectModel(RETAINED_MESSAGE_MODEL) model: Model<RetainedMessageDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  /** The next at most `limit` matching messages (oldest ids first). */
  async nextBatch(filter: FilterQuery<RetainedMessageDoc>, limit: number): Promise<RetainedBatch> {
    const docs = await this.find(filter, { projection: { _id: 1, conversation_id: 1 }, sort: { _id: 1 }, limit });
    return docs.map((d) => ({ _id: d._id, id: String(d._id), conversationId: d.conversation_id }));
  }

  /** Deletes the messages of a batch; returns how many went. */
  async deleteBatch(batch: RetainedBatch): Promise<number> {
    if (!batch.length) return 0;
    return (await this.deleteMany({ _id: { $in: batch.map((m) => m._id) } })).deletedCount ?? 0;
  }
}

/** Deleted users' tombstones of the tenant in context. */
@Injectable()
export class RetainedTombstonesRepository extends TenantRepository<RetainedTombstoneDoc> {
  constructor(@InjectModel(RETAINED_TOMBSTONE_MODEL) model: Model<RetainedTombstoneDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  /** Deletes the tombstones of deletions before `cutoff`; returns how many went (one per deleted user: few). */
  async purgeDeletedBefore(cutoff: Date): Promise<number> {
    return (await this.deleteMany({ deleted_at: { $lt: cutoff } })).deletedCount ?? 0;
  }
}

@Injectable()
export class RetentionPolicyRepository {
  constructor(
    @InjectModel(RETENTION_POLICY_MODEL) private readonly policies: Model<RetentionPolicyDoc>,
    @InjectModel(RETENTION_REPORT_MODEL) private readonly reports: Model<RetentionReportDoc>,
    @InjectConnection() private readonly connection: Connection,
    private readonly dialect: StoreDialect,
  ) {}

  async get(tenantId: string): Promise<RetentionPolicyDoc | null> {
    return (await this.policies.collection.findOne({ _id: tenantId } as never)) as RetentionPolicyDoc | null;
  }

  /**
   * Under the policy's lock (StoreDialect.serialised; a plain call on MongoDB): on FerretDB an update is
   * read, changed and written back whole, so of two holds placed at once one was lost, and the run then
   * deleted the messages of a held conversation (test/retention-write-races).
   */
  async update(tenantId: string, update: Record<string, unknown>): Promise<RetentionPolicyDoc> {
    await this.dialect.serialised('retention_policies', tenantId, () =>
      this.policies.collection.updateOne(
        { _id: tenantId } as never,
        { ...update, $set: { ...((update.$set as object) ?? {}), tenant_id: tenantId, updated_at: new Date() } },
        { upsert: true },
      ),
    );
    return (await this.get(tenantId))!;
  }

  /** Every tenant id (the `clients` collection), in id order. */
  async tenantIds(): Promise<string[]> {
    return (await this.connection.collection('clients').find({}, { projection: { _id: 1 }, sort: { _id: 1 } }).toArray()).map((c) => String(c._id));
  }

  async saveReport(r: RetentionReportDoc): Promise<void> {
    await this.reports.collection.insertOne(r as never);
  }

  async latestReports(limit: number): Promise<RetentionReportDoc[]> {
    return (await this.reports.collection.find({ _id: { $ne: 'lock' } } as never, { sort: { started_at: -1 }, limit }).toArray()) as unknown as RetentionReportDoc[];
  }

  /** One run at a time across nodes: a lock document, taken over when older than `staleMs`. */
  async lock(holder: string, staleMs: number): Promise<boolean> {
    const now = new Date();
    try {
      await this.reports.collection.insertOne({ _id: 'lock', holder, started_at: now } as never);
      return true;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      // Under the lock document's lock: on FerretDB two nodes taking over one stale lock both won.
      const r = await this.dialect.serialised('retention_reports', 'lock', () =>
        this.reports.collection.updateOne({ _id: 'lock', started_at: { $lt: new Date(now.getTime() - staleMs) } } as never, { $set: { holder, started_at: now } }),
      );
      return r.modifiedCount === 1;
    }
  }

  async unlock(holder: string): Promise<void> {
    await this.reports.collection.deleteOne({ _id: 'lock', holder } as never);
  }
}
