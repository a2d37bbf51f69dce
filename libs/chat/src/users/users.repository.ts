import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { AnyBulkWriteOperation, FilterQuery, Model, UpdateQuery } from 'mongoose';
import { TenantConnectionResolver, TenantRepository, WithId } from '@chat/tenancy';
import { DocumentLock, EVENT_TRACE_FIELD, EventTrace, isDuplicateKeyError, mergeUpdates, StoreDialect } from '@chat/database';
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
  /** Writes to one user are serialised where the database needs it (StoreDialect). */
  private readonly locked: DocumentLock;

  constructor(
    @InjectModel(USER_MODEL) model: Model<UserDoc>,
    resolver: TenantConnectionResolver,
    private readonly dialect: StoreDialect,
  ) {
    super(model, resolver);
    this.locked = dialect.lockFor(() => `users:${this.tenant('lock')}`);
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

  /** The update appending traces to the user's event trace (StoreDialect.traceUpdate): inside `locked`. None given: nothing. */
  private async traceUpdate(externalId: string, traces: EventTrace | EventTrace[]): Promise<Record<string, Record<string, unknown>>> {
    if (Array.isArray(traces) && !traces.length) return {};
    return this.dialect.traceUpdate(traces, async () => (await this.findOne({ external_id: externalId }, { [EVENT_TRACE_FIELD]: 1 }))?.event_trace);
  }

  /**
   * Creates or updates one user; tells whether it was created. Retries once on an upsert race.
   * `trace`: its user.updated event (user.created when `at` is the new user's created_at: the webhook sweeper's tracedType).
   */
  upsert(externalId: string, fields: UserFields, trace: EventTrace): Promise<{ created: boolean }> {
    return this.locked(externalId, () => this.upsertUnlocked(externalId, fields, trace));
  }

  private async upsertUnlocked(externalId: string, fields: UserFields, trace: EventTrace | EventTrace[]): Promise<{ created: boolean }> {
    const at = (Array.isArray(trace) ? trace[0]?.at : trace.at) ?? new Date();
    for (let attempt = 0; ; attempt++) {
      const op = UsersRepository.upsertOp(externalId, fields, at);
      const filter = op.filter;
      const update = mergeUpdates(op.update, await this.traceUpdate(externalId, trace));
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
   * `traces`: each user's user.updated event (as `upsert`; all with the same `at`), written with it.
   */
  upsertMany(items: Array<{ external_id: string } & UserFields>, traces = new Map<string, EventTrace>()): Promise<{ created: string[] }> {
    const ids = items.map((i) => i.external_id);
    const now = traces.get(ids[0]!)?.at ?? new Date();
    const traceOf = (id: string): EventTrace[] => {
      const t = traces.get(id);
      return t ? [t] : [];
    };
    return this.locked.many(ids, async () => {
      const docs = await this.find({ external_id: { $in: ids } }, { projection: { _id: 1, external_id: 1, [EVENT_TRACE_FIELD]: 1 } });
      const existing = new Map(docs.map((d) => [d.external_id, d]));
      const fresh = items.filter((i) => !existing.has(i.external_id));
      let created = fresh.map((i) => i.external_id);
      if (fresh.length) {
        try {
          await this.insertMany(fresh.map((i) => ({ ...UsersRepository.newDoc(i.external_id, i, now), ...(traceOf(i.external_id).length ? { [EVENT_TRACE_FIELD]: traceOf(i.external_id) } : {}) })));
        } catch (err) {
          // A concurrent creator of one of these ids (MongoDB, other node): settle each one by upsert.
          if (!isDuplicateKeyError(err)) throw err;
          created = [];
          for (const i of fresh) if ((await this.upsertUnlocked(i.external_id, i, traceOf(i.external_id))).created) created.push(i.external_id);
        }
      }
      const updates: Array<{ filter: FilterQuery<UserDoc>; update: UpdateQuery<UserDoc> }> = [];
      for (const i of items) {
        const doc = existing.get(i.external_id);
        if (!doc) continue;
        const t = traceOf(i.external_id);
        const trace = t.length ? await this.dialect.traceUpdate(t, async () => doc.event_trace) : {};
        updates.push({ filter: { _id: doc._id }, update: mergeUpdates({ $set: UsersRepository.setFor(i.external_id, i, now) } as UpdateQuery<UserDoc>, trace) });
      }
      await this.sendUpdates(updates);
      return { created };
    });
  }

  /** Updates an existing user; false when it does not exist. `trace`: the user.updated event, written in the same update. */
  async update(externalId: string, fields: UserFields, trace: EventTrace): Promise<boolean> {
    const res = await this.locked(externalId, async () =>
      this.updateOne({ external_id: externalId }, mergeUpdates({ $set: UsersRepository.setFor(externalId, fields, trace.at) } as UpdateQuery<UserDoc>, await this.traceUpdate(externalId, trace))),
    );
    return res.matchedCount > 0;
  }

  /** `traces`: the events of the change (user.deactivated, user.updated), written in the same update. */
  async setDeactivated(externalId: string, at: Date | null, traces: EventTrace[] = []): Promise<boolean> {
    const res = await this.locked(externalId, async () =>
      this.updateOne({ external_id: externalId }, mergeUpdates({ $set: { deactivated_at: at, updated_at: new Date() } } as UpdateQuery<UserDoc>, await this.traceUpdate(externalId, traces))),
    );
    return res.matchedCount > 0;
  }

  /**
   * Deletes the user. `before` runs under the user's write lock once the user is known to exist, just
   * before the delete (the deletion's tombstone: its events' durable trace).
   */
  async remove(externalId: string, before?: () => Promise<void>): Promise<boolean> {
    const res = await this.locked(externalId, async () => {
      if (before) {
        if (!(await this.exists({ external_id: externalId }))) return { deletedCount: 0 };
        await before();
      }
      return this.deleteOne({ external_id: externalId });
    });
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
    await this.locked.many(ids, async () => {
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
    return this.find(filter, { sort: { _id: 1 }, limit: opts.limit, projection: { relationships: 0, search_keys: 0, [EVENT_TRACE_FIELD]: 0 } });
  }

  relationshipsOf(externalId: string): Promise<WithId<Pick<UserDoc, 'external_id' | 'relationships' | 'rel_version'>> | null> {
    return this.findOne({ external_id: externalId }, { external_id: 1, relationships: 1, rel_version: 1 });
  }

  /** Replaces the relationships if nobody changed them since `version` was read (compare-and-set); `trace` (user.updated) is written with them. */
  async casRelationships(externalId: string, version: number, relationships: UserRelationship[], trace: EventTrace): Promise<boolean> {
    const res = await this.locked(externalId, async () =>
      this.updateOne(
        { external_id: externalId, rel_version: version },
        mergeUpdates({ $set: { relationships, updated_at: trace.at }, $inc: { rel_version: 1 } } as UpdateQuery<UserDoc>, await this.traceUpdate(externalId, trace)),
      ),
    );
    return res.matchedCount > 0;
  }
}
