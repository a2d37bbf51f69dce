import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { AnyBulkWriteOperation, FilterQuery, Model, UpdateQuery } from 'mongoose';
import { TenantConnectionResolver, TenantRepository, WithId } from '@chat/tenancy';
import { isDuplicateKeyError, StoreDialect } from '@chat/database';
import { escapeRegex } from './pagination';
import { searchKeysFor, USER_MODEL, UserDoc, UserRelationship } from './user.schema';

/** Fields a write may set on a user (all optional; nested objects replace only the keys given). */
export interface UserFields {
  profile?: Partial<UserDoc['profile']>;
  settings?: Partial<UserDoc['settings']>;
  encryption?: Partial<UserDoc['encryption']>;
}

@Injectable()
export class UsersRepository extends TenantRepository<UserDoc> {
  constructor(
    @InjectModel(USER_MODEL) model: Model<UserDoc>,
    resolver: TenantConnectionResolver,
    private readonly dialect: StoreDialect,
  ) {
    super(model, resolver);
  }

  /** Writes to one user are serialised where the database needs it (StoreDialect). */
  private locked<T>(externalId: string, fn: () => Promise<T>): Promise<T> {
    return this.dialect.serialised(`users:${this.tenant('lock')}`, externalId, fn);
  }

  private lockedMany<T>(externalIds: string[], fn: () => Promise<T>): Promise<T> {
    return this.dialect.serialisedMany(`users:${this.tenant('lock')}`, externalIds, fn);
  }

  /** $set for the given fields, as dotted paths so unrelated keys stay as they are. */
  private static setFor(externalId: string, fields: UserFields, now: Date): Record<string, unknown> {
    const set: Record<string, unknown> = { updated_at: now };
    for (const group of ['profile', 'settings', 'encryption'] as const) {
      for (const [k, v] of Object.entries(fields[group] ?? {})) if (v !== undefined) set[`${group}.${k}`] = v;
    }
    const name = fields.profile?.display_name;
    if (name !== undefined) {
      set.search_name = name ? name.trim().toLowerCase() : null;
      set.search_keys = searchKeysFor(externalId, name);
    }
    return set;
  }

  private static upsertOp(externalId: string, fields: UserFields, now: Date): { filter: FilterQuery<UserDoc>; update: UpdateQuery<UserDoc> } {
    const set = UsersRepository.setFor(externalId, fields, now);
    const onInsert: Record<string, unknown> = { external_id: externalId, created_at: now, relationships: [], rel_version: 0, deactivated_at: null, last_seen: null };
    // Defaults for what the caller did not give; $setOnInsert must not name a path that $set names.
    const defaults: Record<string, unknown> = {
      'profile.display_name': null,
      'profile.avatar_url': null,
      'profile.status': 'offline',
      'profile.custom_data': null,
      'settings.notifications': {},
      'settings.privacy': {},
      'encryption.public_key': null,
      'encryption.key_version': null,
      search_name: null,
      search_keys: searchKeysFor(externalId, null),
    };
    for (const [k, v] of Object.entries(defaults)) if (!(k in set)) onInsert[k] = v;
    return { filter: { external_id: externalId }, update: { $set: set, $setOnInsert: onInsert } as UpdateQuery<UserDoc> };
  }

  findByExternalId(externalId: string): Promise<WithId<UserDoc> | null> {
    return this.findOne({ external_id: externalId });
  }

  /** Several users by external id, in one query (the batched cache loader's). */
  async findByExternalIds(externalIds: string[]): Promise<Map<string, WithId<UserDoc>>> {
    if (!externalIds.length) return new Map();
    const docs = await this.find({ external_id: { $in: externalIds } });
    return new Map(docs.map((d) => [d.external_id, d]));
  }

  /** Users of the tenant (for the users quota). */
  count(): Promise<number> {
    return this.countDocuments({});
  }

  /** Existing external ids among the given ones. */
  async existingIds(externalIds: string[]): Promise<string[]> {
    if (!externalIds.length) return [];
    const docs = await this.find({ external_id: { $in: externalIds } }, { projection: { external_id: 1 } });
    return docs.map((d) => d.external_id);
  }

  /** Active (not deactivated) external ids among the given ones. */
  async activeIds(externalIds: string[]): Promise<string[]> {
    if (!externalIds.length) return [];
    const docs = await this.find({ external_id: { $in: externalIds }, deactivated_at: null }, { projection: { external_id: 1 } });
    return docs.map((d) => d.external_id);
  }

  /** Creates or updates one user; tells whether it was created. Retries once on an upsert race. */
  upsert(externalId: string, fields: UserFields): Promise<{ created: boolean }> {
    return this.locked(externalId, () => this.upsertUnlocked(externalId, fields));
  }

  private async upsertUnlocked(externalId: string, fields: UserFields): Promise<{ created: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const { filter, update } = UsersRepository.upsertOp(externalId, fields, new Date());
      try {
        const res = await this.updateOne(filter, update, { upsert: true });
        return { created: res.upsertedCount > 0 };
      } catch (err) {
        // Two concurrent upserts of a new id: one inserts, the other hits the unique index; retry as an update.
        if (attempt === 0 && isDuplicateKeyError(err)) continue;
        throw err;
      }
    }
  }

  /** A complete new user document (what an upsert would insert). */
  private static newDoc(externalId: string, fields: UserFields, now: Date): Omit<UserDoc, 'tenant_id'> {
    const name = fields.profile?.display_name ?? null;
    return {
      external_id: externalId,
      profile: { display_name: null, avatar_url: null, status: 'offline', custom_data: null, ...UsersRepository.defined(fields.profile) },
      settings: { notifications: {}, privacy: {}, ...UsersRepository.defined(fields.settings) },
      encryption: { public_key: null, key_version: null, ...UsersRepository.defined(fields.encryption) },
      relationships: [],
      rel_version: 0,
      search_name: name ? name.trim().toLowerCase() : null,
      search_keys: searchKeysFor(externalId, name),
      deactivated_at: null,
      created_at: now,
      updated_at: now,
      last_seen: null,
    };
  }

  private static defined<T extends object>(o: T | undefined): Partial<T> {
    return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
  }

  /**
   * Upserts many users: one query for which exist, one insertMany for the new ones, updates by _id for
   * the others (StoreDialect.sendUpdates: one bulk write on MongoDB; one by one on FerretDB, whose
   * multi-statement updates are pathologically slow). Returns the external ids that were created.
   */
  upsertMany(items: Array<{ external_id: string } & UserFields>): Promise<{ created: string[] }> {
    const ids = items.map((i) => i.external_id);
    return this.lockedMany(ids, async () => {
      const now = new Date();
      const existing = new Map((await this.find({ external_id: { $in: ids } }, { projection: { _id: 1, external_id: 1 } })).map((d) => [d.external_id, d._id]));
      const fresh = items.filter((i) => !existing.has(i.external_id));
      let created = fresh.map((i) => i.external_id);
      if (fresh.length) {
        try {
          await this.insertMany(fresh.map((i) => UsersRepository.newDoc(i.external_id, i, now)));
        } catch (err) {
          // A concurrent creator of one of these ids (MongoDB, other node): settle each one by upsert.
          if (!isDuplicateKeyError(err)) throw err;
          created = [];
          for (const i of fresh) if ((await this.upsertUnlocked(i.external_id, i)).created) created.push(i.external_id);
        }
      }
      const updates = items
        .filter((i) => existing.has(i.external_id))
        .map((i) => ({ filter: { _id: existing.get(i.external_id) }, update: { $set: UsersRepository.setFor(i.external_id, i, now) } as UpdateQuery<UserDoc> }));
      await this.sendUpdates(updates);
      return { created };
    });
  }

  /** Updates an existing user; false when it does not exist. */
  async update(externalId: string, fields: UserFields): Promise<boolean> {
    const res = await this.locked(externalId, () => this.updateOne({ external_id: externalId }, { $set: UsersRepository.setFor(externalId, fields, new Date()) } as UpdateQuery<UserDoc>));
    return res.matchedCount > 0;
  }

  async setDeactivated(externalId: string, at: Date | null): Promise<boolean> {
    const res = await this.locked(externalId, () => this.updateOne({ external_id: externalId }, { $set: { deactivated_at: at, updated_at: new Date() } }));
    return res.matchedCount > 0;
  }

  async remove(externalId: string): Promise<boolean> {
    const res = await this.locked(externalId, () => this.deleteOne({ external_id: externalId }));
    return res.deletedCount > 0;
  }

  /**
   * Moves last_seen forward, each user to its own time (LastSeenBuffer flushes through here): one query
   * for the ids, then updates by _id (the only filter FerretDB on SQLite serves from an index), sent as
   * upsertMany sends them.
   */
  async setLastSeen(entries: Array<[externalId: string, at: Date]>): Promise<void> {
    if (!entries.length) return;
    const ids = entries.map(([id]) => id);
    await this.lockedMany(ids, async () => {
      const byExternal = new Map((await this.find({ external_id: { $in: ids } }, { projection: { _id: 1, external_id: 1 } })).map((d) => [d.external_id, d._id]));
      const updates = entries
        .filter(([id]) => byExternal.has(id))
        .map(([id, at]) => ({ filter: { _id: byExternal.get(id) }, update: { $max: { last_seen: at } } as UpdateQuery<UserDoc> }));
      await this.sendUpdates(updates);
    });
  }

  /** Independent updates of distinct users by _id (StoreDialect: one unordered bulk write, or one by one). */
  private sendUpdates(updates: Array<{ filter: FilterQuery<UserDoc>; update: UpdateQuery<UserDoc> }>): Promise<void> {
    return this.dialect.sendUpdates(
      updates,
      (ops) => this.bulkWrite(ops.map((op) => ({ updateOne: op })) as AnyBulkWriteOperation<UserDoc>[]),
      (op) => this.updateOne(op.filter, op.update),
    );
  }

  /**
   * Users whose display name, a word of it, or external id starts with the (lower-cased) prefix, in
   * _id order after the cursor. An anchored regex is matched per array element and uses the index bounds.
   */
  search(prefix: string, opts: { afterId?: string; limit: number; includeDeactivated: boolean }): Promise<WithId<UserDoc>[]> {
    const filter: FilterQuery<UserDoc> = {};
    if (prefix) filter.search_keys = { $regex: `^${escapeRegex(prefix.toLowerCase())}` };
    if (!opts.includeDeactivated) filter.deactivated_at = null;
    if (opts.afterId) filter._id = { $gt: opts.afterId };
    return this.find(filter, { sort: { _id: 1 }, limit: opts.limit, projection: { relationships: 0, search_keys: 0 } });
  }

  relationshipsOf(externalId: string): Promise<WithId<Pick<UserDoc, 'external_id' | 'relationships' | 'rel_version'>> | null> {
    return this.findOne({ external_id: externalId }, { external_id: 1, relationships: 1, rel_version: 1 });
  }

  /** Replaces the relationships if nobody changed them since `version` was read (compare-and-set). */
  async casRelationships(externalId: string, version: number, relationships: UserRelationship[]): Promise<boolean> {
    const res = await this.locked(externalId, () =>
      this.updateOne({ external_id: externalId, rel_version: version }, { $set: { relationships, updated_at: new Date() }, $inc: { rel_version: 1 } }),
    );
    return res.matchedCount > 0;
  }
}
