import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types } from 'mongoose';
import { TenantConnectionResolver, TenantRepository, WithId } from '@chat/tenancy';
import { DocumentLock, isDuplicateKeyError, StoreDialect } from '@chat/database';
import {
  MLS_GROUP_MODEL,
  MLS_KEY_PACKAGE_MODEL,
  MLS_MESSAGE_MODEL,
  MLS_WELCOME_BLOB_MODEL,
  MLS_WELCOME_MODEL,
  MlsGroupDoc,
  MlsKeyPackageDoc,
  MlsMessageDoc,
  MlsWelcomeBlobDoc,
  MlsWelcomeDoc,
} from './mls.schema';

export type MlsKeyPackageRecord = WithId<MlsKeyPackageDoc>;
export type MlsGroupRecord = WithId<MlsGroupDoc>;
export type MlsMessageRecord = WithId<MlsMessageDoc>;
export type MlsWelcomeRecord = WithId<MlsWelcomeDoc>;
/** What a v2 send is checked against; updated_at names the write (MlsSendStateCache). */
export type MlsSendStateRecord = Pick<MlsGroupRecord, 'group_id' | 'epoch' | 'tree_users' | 'updated_at'>;

/** Published key packages of the current tenant. */
@Injectable()
export class MlsKeyPackagesRepository extends TenantRepository<MlsKeyPackageDoc> {
  /** Claims and publishes of one device (user id, device id) are serialised on FerretDB (see StoreDialect.serialised). */
  private readonly locked: DocumentLock<[string, string]>;

  constructor(
    @InjectModel(MLS_KEY_PACKAGE_MODEL) model: Model<MlsKeyPackageDoc>,
    resolver: TenantConnectionResolver,
    dialect: StoreDialect,
  ) {
    super(model, resolver);
    this.locked = dialect.lockFor(() => `mls_key_packages:${this.tenant('lock')}`, ([userId, deviceId]) => `${userId}|${deviceId}`);
  }

  /** Inserts one-time packages; a ref already stored (a retried publish) is skipped. Returns how many were new. */
  async insertOneTime(userId: string, deviceId: string, items: Array<{ ref: string; key_package: string }>, now: Date): Promise<number> {
    let added = 0;
    for (const it of items) {
      try {
        await this.insertOne({ user_id: userId, device_id: deviceId, ref: it.ref, key_package: it.key_package, last_resort: false, created_at: now, claimed_at: null, claimed_by: null });
        added++;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
    }
    return added;
  }

  /**
   * Makes this package the device's last-resort one: older ones (lower _id) are dropped, so of two
   * concurrent publishes the later insert stays and the device never ends up with none.
   */
  async replaceLastResort(userId: string, deviceId: string, item: { ref: string; key_package: string }, now: Date): Promise<void> {
    await this.locked([userId, deviceId], async () => {
      let id: Types.ObjectId | undefined;
      try {
        id = (await this.insertOne({ user_id: userId, device_id: deviceId, ref: item.ref, key_package: item.key_package, last_resort: true, created_at: now, claimed_at: null, claimed_by: null }))._id;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        id = (await this.findOne({ ref: item.ref, user_id: userId, device_id: deviceId, last_resort: true }))?._id;
      }
      if (id) await this.deleteMany({ user_id: userId, device_id: deviceId, last_resort: true, _id: { $lt: id } });
    });
  }

  /** Who published a ref, or null (another tenant's refs are absent). */
  byRefs(refs: string[]): Promise<MlsKeyPackageRecord[]> {
    if (refs.length === 0) return Promise.resolve([]);
    return this.find({ ref: { $in: refs } }, { projection: { key_package: 0 } });
  }

  countUnclaimed(userId: string, deviceId: string): Promise<number> {
    return this.countDocuments({ user_id: userId, device_id: deviceId, last_resort: false, claimed_at: null });
  }

  hasLastResort(userId: string, deviceId: string): Promise<boolean> {
    return this.exists({ user_id: userId, device_id: deviceId, last_resort: true });
  }

  /** Right to erasure: every key package of a user. */
  async removeUser(userId: string): Promise<void> {
    await this.deleteMany({ user_id: userId });
  }

  /** Devices of a user that published key packages. */
  deviceIds(userId: string): Promise<string[]> {
    return this.distinct<string>('device_id', { user_id: userId });
  }

  /**
   * Claims one unclaimed one-time package of the device (a conditional update: on MongoDB atomic by
   * itself, on FerretDB under the device's lock), else returns its last-resort package unconsumed.
   */
  claimOne(userId: string, deviceId: string, claimedBy: string, now: Date): Promise<MlsKeyPackageRecord | null> {
    return this.locked([userId, deviceId], async () => {
      const claimed = await this.findOneAndUpdate(
        { user_id: userId, device_id: deviceId, last_resort: false, claimed_at: null },
        { $set: { claimed_at: now, claimed_by: claimedBy } },
        { new: true, sort: { _id: 1 } },
      );
      return claimed ?? this.findOne({ user_id: userId, device_id: deviceId, last_resort: true });
    });
  }
}

/** Conversations' MLS groups of the current tenant. */
@Injectable()
export class MlsGroupsRepository extends TenantRepository<MlsGroupDoc> {
  /** Writes of one conversation's group, serialised on FerretDB (see StoreDialect.serialised). */
  private readonly locked: DocumentLock;

  constructor(
    @InjectModel(MLS_GROUP_MODEL) model: Model<MlsGroupDoc>,
    resolver: TenantConnectionResolver,
    dialect: StoreDialect,
  ) {
    super(model, resolver);
    this.locked = dialect.lockFor(() => `mls_groups:${this.tenant('lock')}`);
  }

  byConversation(conversationId: string): Promise<MlsGroupRecord | null> {
    return this.findOne({ conversation_id: conversationId });
  }

  /** What a v2 send is checked against (without the GroupInfo, which grows with the group). */
  sendState(conversationId: string): Promise<MlsSendStateRecord | null> {
    return this.findOne({ conversation_id: conversationId }, { group_info: 0 });
  }

  /** The conversation's first commit creates its group at epoch 1; false when another one won. */
  async create(doc: Omit<MlsGroupDoc, 'tenant_id'>): Promise<boolean> {
    return this.locked(doc.conversation_id, async () => {
      try {
        await this.insertOne(doc);
        return true;
      } catch (err) {
        if (isDuplicateKeyError(err)) return false;
        throw err;
      }
    });
  }

  /**
   * Moves the group from `epoch` to `epoch + 1` only if it is still at `epoch`: the compare-and-set
   * that orders commits. On FerretDB a single-document update is not atomic, so it runs under the
   * conversation's lock there.
   */
  advance(conversationId: string, epoch: number, groupInfo: string, treeUsers: string[], now: Date): Promise<boolean> {
    return this.locked(conversationId, async () => {
      const res = await this.updateOne({ conversation_id: conversationId, epoch }, { $set: { epoch: epoch + 1, group_info: groupInfo, tree_users: treeUsers, updated_at: now } });
      return res.matchedCount === 1;
    });
  }
}

/**
 * The current tenant's groups: application messages (opaque PrivateMessages, with their bytes) and
 * one record per accepted commit (who committed which epoch and when, without the bytes: those live
 * in the conversation's seq stream).
 */
@Injectable()
export class MlsMessagesRepository extends TenantRepository<MlsMessageDoc> {
  constructor(@InjectModel(MLS_MESSAGE_MODEL) model: Model<MlsMessageDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  /** Stores an application message. */
  async appendApplication(doc: Omit<MlsMessageDoc, 'tenant_id' | 'slot' | 'kind'> & { message: string }): Promise<MlsMessageRecord> {
    const _id = new Types.ObjectId();
    return this.insertOne({ _id, ...doc, kind: 'application', slot: `app:${_id.toHexString()}` } as MlsMessageDoc & { _id: Types.ObjectId });
  }

  /** Records an accepted commit; false when its epoch already has one (the slot is unique). */
  async recordCommit(doc: Omit<MlsMessageDoc, 'tenant_id' | 'slot' | 'kind' | 'message'>): Promise<boolean> {
    try {
      await this.insertOne({ ...doc, kind: 'commit', slot: `commit:${doc.epoch}` } as MlsMessageDoc);
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  /** Application messages of a conversation after a cursor (an _id), oldest first. */
  applicationAfter(conversationId: string, afterId: string | undefined, limit: number): Promise<MlsMessageRecord[]> {
    const filter: Record<string, unknown> = { conversation_id: conversationId, kind: 'application' };
    if (afterId) filter._id = { $gt: new Types.ObjectId(afterId) };
    return this.find(filter, { sort: { _id: 1 }, limit });
  }

  /** The last commit the server took at or before `at` (history: which epoch a member joined in). */
  async lastCommitAtOrBefore(conversationId: string, at: Date): Promise<MlsMessageRecord | null> {
    const [last] = await this.find({ conversation_id: conversationId, kind: 'commit', created_at: { $lte: at } }, { sort: { epoch: -1 }, limit: 1 });
    return last ?? null;
  }

  /** The first commit a device of this user made since `since` (its external join, or the group's creation). */
  async firstCommitBy(conversationId: string, userId: string, since: Date): Promise<MlsMessageRecord | null> {
    const [first] = await this.find({ conversation_id: conversationId, kind: 'commit', sender_user_id: userId, created_at: { $gte: since } }, { sort: { epoch: 1 }, limit: 1 });
    return first ?? null;
  }
}

/** Per-device Welcome inboxes of the current tenant (entries point at the Welcome's bytes, stored once). */
@Injectable()
export class MlsWelcomesRepository extends TenantRepository<MlsWelcomeDoc> {
  constructor(@InjectModel(MLS_WELCOME_MODEL) model: Model<MlsWelcomeDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  async deliver(docs: Array<Omit<MlsWelcomeDoc, 'tenant_id'>>): Promise<void> {
    if (docs.length) await this.insertMany(docs);
  }

  /** Removes the user's entries; returns the Welcomes they pointed at (to drop the unreferenced ones). */
  async removeUser(userId: string): Promise<Types.ObjectId[]> {
    const ids = (await this.find({ user_id: userId }, { projection: { welcome_id: 1 } })).map((d) => d.welcome_id);
    await this.deleteMany({ user_id: userId });
    return ids;
  }

  inbox(userId: string, deviceId: string, limit: number): Promise<MlsWelcomeRecord[]> {
    return this.find({ user_id: userId, device_id: deviceId }, { sort: { _id: 1 }, limit });
  }

  /** Removes one entry of the device's inbox; returns the Welcome it pointed at, or null when there was none. */
  async remove(userId: string, deviceId: string, id: string): Promise<Types.ObjectId | null> {
    if (!Types.ObjectId.isValid(id) || !/^[0-9a-f]{24}$/i.test(id)) return null;
    const doc = await this.findOneAndDelete({ _id: new Types.ObjectId(id), user_id: userId, device_id: deviceId });
    return doc ? doc.welcome_id : null;
  }

  async referenced(welcomeId: Types.ObjectId): Promise<boolean> {
    return this.exists({ welcome_id: welcomeId });
  }
}

/** The bytes of the current tenant's Welcomes, one document per Welcome (see MlsWelcomeDoc.welcome_id). */
@Injectable()
export class MlsWelcomeBlobsRepository extends TenantRepository<MlsWelcomeBlobDoc> {
  constructor(@InjectModel(MLS_WELCOME_BLOB_MODEL) model: Model<MlsWelcomeBlobDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  async store(welcome: string, groupInfo: string, now: Date): Promise<Types.ObjectId> {
    return (await this.insertOne({ welcome, group_info: groupInfo, created_at: now }))._id;
  }

  async byIds(ids: Types.ObjectId[]): Promise<Map<string, { welcome: string; group_info: string }>> {
    const docs = await this.findByIds([...new Set(ids.map((i) => i.toHexString()))].map((h) => new Types.ObjectId(h)));
    return new Map(docs.map((d) => [d._id.toHexString(), { welcome: d.welcome, group_info: d.group_info }]));
  }

  async remove(id: Types.ObjectId): Promise<void> {
    await this.deleteOne({ _id: id });
  }
}
