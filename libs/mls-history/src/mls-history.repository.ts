import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types } from 'mongoose';
import { TenantConnectionResolver, TenantRepository, WithId } from '@chat/tenancy';
import { DocumentLock, isDuplicateKeyError, StoreDialect } from '@chat/database';
import {
  HISTORY_BUNDLE_MODEL,
  HISTORY_SETTING_MODEL,
  HistoryBundleDoc,
  HistorySettingDoc,
  HistoryVisibility,
  KEY_BACKUP_ENTRY_MODEL,
  KEY_BACKUP_MODEL,
  KeyBackupDoc,
  KeyBackupEntryDoc,
} from './mls-history.schema';

export type KeyBackupRecord = WithId<KeyBackupDoc>;
export type KeyBackupEntryRecord = WithId<KeyBackupEntryDoc>;
export type HistoryBundleRecord = WithId<HistoryBundleDoc>;

/** Users' key backup metadata (one document per user) of the current tenant. */
@Injectable()
export class KeyBackupsRepository extends TenantRepository<KeyBackupDoc> {
  /** Writes of one user's backup are serialised on FerretDB (a read-then-write decides create/rotate/replace). */
  readonly locked: DocumentLock;

  constructor(
    @InjectModel(KEY_BACKUP_MODEL) model: Model<KeyBackupDoc>,
    resolver: TenantConnectionResolver,
    dialect: StoreDialect,
  ) {
    super(model, resolver);
    this.locked = dialect.lockFor(() => `key_backups:${this.tenant('lock')}`);
  }

  byUser(userId: string): Promise<KeyBackupRecord | null> {
    return this.findOne({ user_id: userId });
  }

  async create(doc: Omit<KeyBackupDoc, 'tenant_id'>): Promise<boolean> {
    try {
      await this.insertOne(doc);
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  async replace(userId: string, set: Pick<KeyBackupDoc, 'backup_id' | 'wraps' | 'updated_at'>): Promise<void> {
    await this.updateOne({ user_id: userId }, { $set: set });
  }

  async removeUser(userId: string): Promise<boolean> {
    const res = await this.deleteMany({ user_id: userId });
    return (res.deletedCount ?? 0) > 0;
  }
}

/** Encrypted epoch keys of users' backups, of the current tenant. */
@Injectable()
export class KeyBackupEntriesRepository extends TenantRepository<KeyBackupEntryDoc> {
  constructor(@InjectModel(KEY_BACKUP_ENTRY_MODEL) model: Model<KeyBackupEntryDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  count(userId: string, backupId: string): Promise<number> {
    return this.countDocuments({ user_id: userId, backup_id: backupId });
  }

  /** How many of these (group, epoch) pairs the backup already holds (a re-upload replaces them). */
  async countExisting(userId: string, backupId: string, keys: Array<{ group_id: string; epoch: number }>): Promise<number> {
    if (keys.length === 0) return 0;
    return this.countDocuments({ user_id: userId, backup_id: backupId, $or: keys.map((k) => ({ group_id: k.group_id, epoch: k.epoch })) });
  }

  /** Inserts or replaces entries, keyed by (user, backup, group, epoch). */
  async upsert(userId: string, backupId: string, entries: Array<{ group_id: string; epoch: number; ciphertext: string }>, now: Date): Promise<void> {
    const ops = entries.map((e) => ({
      updateOne: {
        filter: { user_id: userId, backup_id: backupId, group_id: e.group_id, epoch: e.epoch },
        update: { $set: { ciphertext: e.ciphertext, updated_at: now } },
        upsert: true,
      },
    }));
    try {
      await this.bulkWrite(ops);
    } catch (err) {
      // Two uploads of the same new entry raced: the loser's upsert hit the unique index; once more finds it.
      if (!isDuplicateKeyError(err)) throw err;
      await this.bulkWrite(ops);
    }
  }

  /** A page of the backup's entries in _id order, optionally of one group. */
  page(userId: string, backupId: string, q: { group_id?: string; cursor?: string; limit: number }): Promise<KeyBackupEntryRecord[]> {
    const filter: Record<string, unknown> = { user_id: userId, backup_id: backupId };
    if (q.group_id) filter.group_id = q.group_id;
    if (q.cursor) filter._id = { $gt: new Types.ObjectId(q.cursor) };
    return this.find(filter, { sort: { _id: 1 }, limit: q.limit });
  }

  /** Entries of other backups than `keep` (all of them when null). */
  async removeOthers(userId: string, keep: string | null): Promise<void> {
    await this.deleteMany(keep === null ? { user_id: userId } : { user_id: userId, backup_id: { $ne: keep } });
  }
}

/** History bundles of the current tenant's conversations. */
@Injectable()
export class HistoryBundlesRepository extends TenantRepository<HistoryBundleDoc> {
  constructor(@InjectModel(HISTORY_BUNDLE_MODEL) model: Model<HistoryBundleDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  add(doc: Omit<HistoryBundleDoc, 'tenant_id'>): Promise<HistoryBundleRecord> {
    return this.insertOne(doc);
  }

  countFor(conversationId: string): Promise<number> {
    return this.countDocuments({ conversation_id: conversationId });
  }

  page(conversationId: string, q: { cursor?: string; limit: number }): Promise<HistoryBundleRecord[]> {
    const filter: Record<string, unknown> = { conversation_id: conversationId };
    if (q.cursor) filter._id = { $gt: new Types.ObjectId(q.cursor) };
    return this.find(filter, { sort: { _id: 1 }, limit: q.limit });
  }
}

/** Conversations' history visibility settings of the current tenant. */
@Injectable()
export class HistorySettingsRepository extends TenantRepository<HistorySettingDoc> {
  constructor(
    @InjectModel(HISTORY_SETTING_MODEL) model: Model<HistorySettingDoc>,
    resolver: TenantConnectionResolver,
    private readonly dialect: StoreDialect,
  ) {
    super(model, resolver);
  }

  async visibility(conversationId: string): Promise<HistoryVisibility | null> {
    return (await this.findOne({ conversation_id: conversationId }))?.history_visibility ?? null;
  }

  async set(conversationId: string, visibility: HistoryVisibility, userId: string, now: Date): Promise<void> {
    await this.dialect.serialised(`mls_history_settings:${this.tenant('lock')}`, conversationId, async () => {
      const set = { history_visibility: visibility, updated_by: userId, updated_at: now };
      try {
        await this.updateOne({ conversation_id: conversationId }, { $set: set }, { upsert: true });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        await this.updateOne({ conversation_id: conversationId }, { $set: set });
      }
    });
  }
}
