import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { isDuplicateKeyError, StoreDialect } from '@chat/database';
import { TenantConnectionResolver, TenantRepository, WithId } from '@chat/tenancy';
import {
  CONVERSATION_RESTRICTION_MODEL,
  CONVERSATION_SETTINGS_MODEL,
  ConversationRestrictionDoc,
  ConversationSettingsDoc,
  RestrictionKind,
} from './conversation-moderation.schema';

export type RestrictionRecord = WithId<ConversationRestrictionDoc>;

/** Mutes and bans of members, per conversation, of the tenant in context. */
@Injectable()
export class ConversationRestrictionsRepository extends TenantRepository<ConversationRestrictionDoc> {
  constructor(@InjectModel(CONVERSATION_RESTRICTION_MODEL) model: Model<ConversationRestrictionDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  /** Creates or replaces (reason, expiry, actor) the restriction. */
  async put(r: Omit<ConversationRestrictionDoc, 'tenant_id'>): Promise<RestrictionRecord> {
    const filter = { conversation_id: r.conversation_id, kind: r.kind, user_id: r.user_id };
    const set = { reason: r.reason, expires_at: r.expires_at, by: r.by, created_at: r.created_at };
    try {
      return (await this.findOneAndUpdate(filter, { $set: set }, { upsert: true, new: true }))!;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err; // a concurrent put inserted it first: update that one
      return (await this.findOneAndUpdate(filter, { $set: set }, { new: true }))!;
    }
  }

  async remove(conversationId: string, kind: RestrictionKind, userId: string): Promise<boolean> {
    return (await this.deleteOne({ conversation_id: conversationId, kind, user_id: userId })).deletedCount > 0;
  }

  list(conversationId: string, kind: RestrictionKind, opts: { afterUserId?: string; limit: number }): Promise<RestrictionRecord[]> {
    return this.find(
      { conversation_id: conversationId, kind, ...(opts.afterUserId ? { user_id: { $gt: opts.afterUserId } } : {}) },
      { sort: { user_id: 1 }, limit: opts.limit },
    );
  }

  forUsers(conversationId: string, kind: RestrictionKind, userIds: string[]): Promise<RestrictionRecord[]> {
    return this.find({ conversation_id: conversationId, kind, user_id: { $in: userIds } });
  }
}

/** One settings document per conversation (frozen, slow mode) of the tenant in context. */
@Injectable()
export class ConversationSettingsRepository extends TenantRepository<ConversationSettingsDoc> {
  constructor(
    @InjectModel(CONVERSATION_SETTINGS_MODEL) model: Model<ConversationSettingsDoc>,
    resolver: TenantConnectionResolver,
    private readonly dialect: StoreDialect,
  ) {
    super(model, resolver);
  }

  forConversation(conversationId: string): Promise<WithId<ConversationSettingsDoc> | null> {
    return this.findOne({ conversation_id: conversationId });
  }

  /** Sets some fields; serialised per conversation where single-document updates are not atomic (StoreDialect). */
  set(conversationId: string, fields: Partial<Pick<ConversationSettingsDoc, 'frozen' | 'slow_mode_seconds'>>, now: Date): Promise<WithId<ConversationSettingsDoc>> {
    return this.dialect.serialised(`conversation_moderation:${this.tenant('lock')}`, conversationId, async () => {
      const update = { $set: { ...fields, updated_at: now } };
      try {
        return (await this.findOneAndUpdate({ conversation_id: conversationId }, update, { upsert: true, new: true }))!;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        return (await this.findOneAndUpdate({ conversation_id: conversationId }, update, { new: true }))!;
      }
    });
  }
}
