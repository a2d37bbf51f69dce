import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types } from 'mongoose';
import { TenantConnectionResolver, TenantRepository } from '@chat/tenancy';
import { FILE_MODEL, FILE_PURGE_MODEL, FileDoc, FilePurgeDoc, FilePurgeRecord, FileRecord } from './file.schema';
import { DocumentLock, isDuplicateKeyError, StoreDialect } from '@chat/database';

/** The `files` collection of the current tenant. */
@Injectable()
export class FilesRepository extends TenantRepository<FileDoc> {
  /**
   * Every write of a file document under its lock (StoreDialect.serialised; a plain call on MongoDB):
   * on FerretDB an update is read, changed and written back whole, so an attach or a confirm that read
   * the file before a deletion wrote it back live again (test/files-write-races).
   */
  private readonly locked: DocumentLock;

  constructor(
    @InjectModel(FILE_MODEL) model: Model<FileDoc>,
    resolver: TenantConnectionResolver,
    dialect: StoreDialect,
  ) {
    super(model, resolver);
    // Locked by the id as the writes' filters read it (an ObjectId): one lock per document, whatever the id's case.
    this.locked = dialect.lockFor(() => `files:${this.tenant('lock')}`, (fileId) => new Types.ObjectId(fileId).toHexString());
  }

  create(doc: Omit<FileDoc, 'tenant_id'> & { _id: Types.ObjectId }): Promise<FileRecord> {
    return this.insertOne(doc as unknown as Omit<FileDoc, 'tenant_id'>) as Promise<FileRecord>;
  }

  get(fileId: string): Promise<FileRecord | null> {
    return this.findById(fileId) as Promise<FileRecord | null>;
  }

  /** The uploader's files, newest first, below a cursor id. */
  listByUploader(uploaderId: string, opts: { beforeId?: string; limit: number; includeDeleted?: boolean }): Promise<FileRecord[]> {
    const filter: Record<string, unknown> = { uploader_id: uploaderId };
    if (!opts.includeDeleted) filter.status = { $in: ['pending', 'ready'] };
    if (opts.beforeId) filter._id = { $lt: new Types.ObjectId(opts.beforeId) };
    return this.find(filter, { sort: { _id: -1 }, limit: opts.limit }) as Promise<FileRecord[]>;
  }

  /** Bytes of every live file (pending uploads included: they reserve their size). */
  async usedBytes(): Promise<number> {
    const rows = await this.aggregate<{ total: number }>([
      { $match: { status: { $in: ['pending', 'ready'] } } },
      { $group: { _id: null, total: { $sum: '$metadata.size' } } },
    ]);
    return Number(rows[0]?.total ?? 0);
  }

  /** Removes a pending file that was refused before its upload URL was issued (nothing to sweep). */
  async removePending(fileId: string): Promise<void> {
    if (!TenantRepository.isObjectId(fileId)) return;
    await this.locked(fileId, () => this.deleteOne({ _id: new Types.ObjectId(fileId), status: 'pending' }));
  }

  /** pending -> ready, once; null when the file is not pending any more (or not the uploader's). */
  markReady(fileId: string, uploaderId: string, etag: string | null, now: Date): Promise<FileRecord | null> {
    if (!TenantRepository.isObjectId(fileId)) return Promise.resolve(null);
    return this.locked(
      fileId,
      () =>
        this.findOneAndUpdate(
          { _id: new Types.ObjectId(fileId), uploader_id: uploaderId, status: 'pending' },
          { $set: { status: 'ready', 'storage.etag': etag, confirmed_at: now, updated_at: now } },
        ) as Promise<FileRecord | null>,
    );
  }

  /** Links a ready file to its message (only while unlinked or linked to the same message). */
  attachMessage(fileId: string, uploaderId: string, messageId: string, now: Date): Promise<FileRecord | null> {
    if (!TenantRepository.isObjectId(fileId)) return Promise.resolve(null);
    return this.locked(
      fileId,
      () =>
        this.findOneAndUpdate(
          { _id: new Types.ObjectId(fileId), uploader_id: uploaderId, status: 'ready', message_id: { $in: [null, messageId] } },
          { $set: { message_id: messageId, updated_at: now } },
        ) as Promise<FileRecord | null>,
    );
  }

  /**
   * Marks one live file deleted (any live status, or only the listed ones); null if it was not live.
   * `reason` 'removed' (uploader or tenant's server) is written with it: the durable trace of file.deleted.
   */
  markDeleted(fileId: string, now: Date, onlyStatus?: Array<'pending' | 'ready'>, reason: 'removed' | null = null): Promise<FileRecord | null> {
    if (!TenantRepository.isObjectId(fileId)) return Promise.resolve(null);
    return this.locked(
      fileId,
      () =>
        this.findOneAndUpdate(
          { _id: new Types.ObjectId(fileId), status: { $in: onlyStatus ?? ['pending', 'ready'] } },
          { $set: { status: 'deleted', deleted_at: now, deleted_reason: reason, updated_at: now } },
        ) as Promise<FileRecord | null>,
    );
  }

  /** Live files of these messages (bounded by the caller's batch: a message carries a handful). */
  liveOfMessages(messageIds: readonly string[]): Promise<FileRecord[]> {
    return this.find({ message_id: { $in: [...messageIds] }, status: { $in: ['pending', 'ready'] } }) as Promise<FileRecord[]>;
  }

  markPurged(fileId: string, now: Date): Promise<unknown> {
    if (!TenantRepository.isObjectId(fileId)) return Promise.resolve(null);
    return this.locked(fileId, () => this.updateOne({ _id: new Types.ObjectId(fileId), status: 'deleted' }, { $set: { purged_at: now, updated_at: now } }));
  }
}

/**
 * The bucket-removal queue (platform collection across tenants: see FilePurgeDoc). Claims are single
 * conditional updates, so several nodes can sweep at once without removing an object twice.
 */
@Injectable()
export class FilePurgeQueue {
  constructor(@InjectModel(FILE_PURGE_MODEL) private readonly model: Model<FilePurgeDoc>) {}

  /** Adds (or moves) the file's entry. */
  async schedule(entry: Pick<FilePurgeDoc, 'tenant_id' | 'file_id' | 'bucket' | 'key' | 'reason' | 'due_at'>): Promise<void> {
    await this.model
      .updateOne(
        { file_id: entry.file_id },
        { $set: { ...entry, claimed_until: null, attempts: 0 }, $setOnInsert: { created_at: new Date() } },
        { upsert: true },
      )
      .exec()
      .catch(async (err: { code?: number }) => {
        if (!isDuplicateKeyError(err)) throw err;
        await this.model.updateOne({ file_id: entry.file_id }, { $set: { ...entry, claimed_until: null, attempts: 0 } }).exec();
      });
  }

  /** Drops the entry of a file (e.g. its upload was confirmed, so it is no longer abandoned). */
  async cancel(fileId: string, reason: FilePurgeDoc['reason']): Promise<void> {
    await this.model.deleteOne({ file_id: fileId, reason }).exec();
  }

  /** Claims the earliest due entry not claimed by a live sweep; null when nothing is due. */
  async claimNext(now: Date, holdMs: number): Promise<FilePurgeRecord | null> {
    return (await this.model
      .findOneAndUpdate(
        { due_at: { $lte: now }, $or: [{ claimed_until: null }, { claimed_until: { $lte: now } }] },
        { $set: { claimed_until: new Date(now.getTime() + holdMs) } },
        { sort: { due_at: 1 }, new: true },
      )
      .lean()
      .exec()) as FilePurgeRecord | null;
  }

  async done(id: Types.ObjectId): Promise<void> {
    await this.model.deleteOne({ _id: id }).exec();
  }

  /** A failed removal is retried later, backing off with the number of attempts (max one hour). */
  async retryLater(id: Types.ObjectId, attempts: number, now: Date): Promise<void> {
    const delayMs = Math.min(3_600_000, 30_000 * 2 ** Math.min(attempts, 7));
    await this.model.updateOne({ _id: id }, { $set: { claimed_until: null, due_at: new Date(now.getTime() + delayMs) }, $inc: { attempts: 1 } }).exec();
  }

  async pendingForTenant(tenantId: string): Promise<number> {
    return this.model.countDocuments({ tenant_id: tenantId }).exec();
  }
}
