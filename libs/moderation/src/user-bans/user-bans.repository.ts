import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { DocumentLock, EventTrace, isDuplicateKeyError, mergeUpdates, StoreDialect } from '@chat/database';
import { TenantConnectionResolver, TenantRepository, WithId } from '@chat/tenancy';
import { USER_BAN_MODEL, UserBanDoc } from './user-ban.schema';

export type UserBanRecord = WithId<UserBanDoc>;

/** Tenant-wide user bans of the tenant in context: one document per banned user (kept, lifted, after an unban). */
@Injectable()
export class UserBansRepository extends TenantRepository<UserBanDoc> {
  /** Writes to one user's ban are serialised where the database needs it (StoreDialect: the trace is read, then written). */
  private readonly locked: DocumentLock;

  constructor(
    @InjectModel(USER_BAN_MODEL) model: Model<UserBanDoc>,
    resolver: TenantConnectionResolver,
    private readonly dialect: StoreDialect,
  ) {
    super(model, resolver);
    this.locked = dialect.lockFor(() => `user_bans:${this.tenant('lock')}`);
  }

  private traceUpdate(userId: string, trace: EventTrace): Promise<Record<string, Record<string, unknown>>> {
    return this.dialect.traceUpdate(trace, async () => (await this.findOne({ user_id: userId }, { event_trace: 1 }))?.event_trace);
  }

  /** The user's ban unless lifted (expired ones too: the caller compares the expiry with its clock). */
  findFor(userId: string): Promise<UserBanRecord | null> {
    return this.findOne({ user_id: userId, lifted_at: null });
  }

  /** Creates or replaces the user's ban (a second ban changes reason and expiry); `trace` (moderation.user_banned) is written with it. */
  async put(ban: Omit<UserBanDoc, 'tenant_id'>, trace: EventTrace): Promise<UserBanRecord> {
    const set = { reason: ban.reason, expires_at: ban.expires_at, by: ban.by, created_at: ban.created_at, lifted_at: null };
    return this.locked(ban.user_id, async () => {
      const update = mergeUpdates({ $set: set }, await this.traceUpdate(ban.user_id, trace));
      try {
        return (await this.findOneAndUpdate({ user_id: ban.user_id }, update, { upsert: true, new: true }))!;
      } catch (err) {
        // Two bans of one user at once (other node): the unique index let one insert win; the other now updates it.
        if (!isDuplicateKeyError(err)) throw err;
        return (await this.findOneAndUpdate({ user_id: ban.user_id }, update, { new: true }))!;
      }
    });
  }

  /** Lifts the user's ban; false when there was none. `trace` (moderation.user_unbanned) is written with it. */
  async lift(userId: string, now: Date, trace: EventTrace): Promise<boolean> {
    return this.locked(userId, async () => {
      const update = mergeUpdates({ $set: { lifted_at: now } }, await this.traceUpdate(userId, trace));
      return (await this.updateOne({ user_id: userId, lifted_at: null }, update)).modifiedCount > 0;
    });
  }

  list(opts: { afterUserId?: string; limit: number }): Promise<UserBanRecord[]> {
    return this.find({ lifted_at: null, ...(opts.afterUserId ? { user_id: { $gt: opts.afterUserId } } : {}) }, { sort: { user_id: 1 }, limit: opts.limit });
  }
}
