import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { isDuplicateKeyError } from '@chat/database';
import { TenantConnectionResolver, TenantRepository, WithId } from '@chat/tenancy';
import { USER_BAN_MODEL, UserBanDoc } from './user-ban.schema';

export type UserBanRecord = WithId<UserBanDoc>;

/** Tenant-wide user bans of the tenant in context: one document per banned user. */
@Injectable()
export class UserBansRepository extends TenantRepository<UserBanDoc> {
  constructor(@InjectModel(USER_BAN_MODEL) model: Model<UserBanDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  findFor(userId: string): Promise<UserBanRecord | null> {
    return this.findOne({ user_id: userId });
  }

  /** Creates or replaces the user's ban (a second ban changes reason and expiry). */
  async put(ban: Omit<UserBanDoc, 'tenant_id'>): Promise<UserBanRecord> {
    const set = { reason: ban.reason, expires_at: ban.expires_at, by: ban.by, created_at: ban.created_at };
    try {
      return (await this.findOneAndUpdate({ user_id: ban.user_id }, { $set: set }, { upsert: true, new: true }))!;
    } catch (err) {
      // Two bans of one user at once: the unique index let one insert win; the other now updates it.
      if (!isDuplicateKeyError(err)) throw err;
      return (await this.findOneAndUpdate({ user_id: ban.user_id }, { $set: set }, { new: true }))!;
    }
  }

  async remove(userId: string): Promise<boolean> {
    return (await this.deleteOne({ user_id: userId })).deletedCount > 0;
  }

  list(opts: { afterUserId?: string; limit: number }): Promise<UserBanRecord[]> {
    return this.find(opts.afterUserId ? { user_id: { $gt: opts.afterUserId } } : {}, { sort: { user_id: 1 }, limit: opts.limit });
  }
}
