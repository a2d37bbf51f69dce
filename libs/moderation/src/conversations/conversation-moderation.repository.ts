import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { DocumentLock, EventTrace, isDuplicateKeyError, mergeUpdates, StoreDialect } from '@chat/database';
import { TenantConnectionResolver, TenantRepository, WithId } from '@chat/tenancy';
import {
  CONVERSATION_RESTRICTION_MODEL,
  CONVERSATION_SETTINGS_MODEL,
  ConversationRestrictionDoc,
  ConversationSettingsDoc,
  RestrictionKind,
} from './conversation-moderation.schema';

export type RestrictionRecord = WithId<ConversationRestrictionDoc>;

/** What names one restriction (the lock's key; the filter of its writes). */
type RestrictionKey = Pick<ConversationRestrictionDoc, 'conversation_id' | 'kind' | 'user_id'>;

/** Mutes and bans of members, per conversation, of the tenant in context. */
@Injectable()
export class ConversationRestrictionsRepository extends TenantRepository<ConversationRestrictionDoc> {
  /** Writes to one restriction are serialised where the database needs it (StoreDialect): the trace is read, then written. */
  private readonly locked: DocumentLock<RestrictionKey>;

  constructor(
    @InjectModel(CONVERSATION_RESTRICTION_MODEL) model: Model<ConversationRestrictionDoc>,
    resolver: TenantConnectionResolver,
    private readonly dialect: StoreDialect,
  ) {
    super(model, resolver);
    this.locked = dialect.lockFor(() => `conversation_restrictions:${this.tenant('lock')}`, (r) => `${r.conversation_id}:${r.kind}:${r.user_id}`);
  }

  /** Creates or replaces (reason, expiry, actor) the restriction; `trace` (its moderation.* event) is written with it. */
  async put(r: Omit<ConversationRestrictionDoc, 'tenant_id'>, trace: EventTrace): Promise<RestrictionRecord> {
    const filter = { conversation_id: r.conversation_id, kind: r.kind, user_id: r.user_id };
    const set = { reason: r.reason, expires_at: r.expires_at, by: r.by, created_at: r.created_at, lifted_at: null };
    return this.locked(filter, async () => {
      const update = mergeUpdates({ $set: set }, await this.traceUpdate(filter, trace));
      try {
        return (await this.findOneAndUpdate(filter, update, { upsert: true, new: true }))!;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err; // a concurrent put inserted it first: update that one
        return (await this.findOneAndUpdate(filter, update, { new: true }))!;
      }
    });
  }

  private traceUpdate(filter: Record<string, unknown>, trace: EventTrace): Promise<Record<string, Record<string, unknown>>> {
    return this.dialect.traceUpdate(trace, async () => (await this.findOne(filter, { event_trace: 1 }))?.event_trace);
  }

  /** Lifts the restriction (unmute, unban): the document stays, lifted, carrying `trace`. False when there was none in force. */
  async lift(conversationId: string, kind: RestrictionKind, userId: string, now: Date, trace: EventTrace): Promise<boolean> {
    const filter = { conversation_id: conversationId, kind, user_id: userId };
    return this.locked(filter, async () => {
      const update = mergeUpdates({ $set: { lifted_at: now } }, await this.traceUpdate(filter, trace));
      return (await this.updateOne({ ...filter, lifted_at: null }, update)).modifiedCount > 0;
    });
  }

  /** Deletes it outright: a ban taken back because its removal failed (it never applied, so its event goes too). */
  async remove(conversationId: string, kind: RestrictionKind, userId: string): Promise<boolean> {
    return (await this.deleteOne({ conversation_id: conversationId, kind, user_id: userId })).deletedCount > 0;
  }

  list(conversationId: string, kind: RestrictionKind, opts: { afterUserId?: string; limit: number }): Promise<RestrictionRecord[]> {
    return this.find(
      { conversation_id: conversationId, kind, lifted_at: null, ...(opts.afterUserId ? { user_id: { $gt: opts.afterUserId } } : {}) },
      { sort: { user_id: 1 }, limit: opts.limit },
    );
  }

  forUsers(conversationId: string, kind: RestrictionKind, userIds: string[]): Promise<RestrictionRecord[]> {
    return this.find({ conversation_id: conversationId, kind, lifted_at: null, user_id: { $in: userIds } });
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

  /**
   * Sets some fields; serialised per conversation where single-document updates are not atomic
   * (StoreDialect). `traces`: the change's moderation.* events, written in the same update.
   */
  set(conversationId: string, fields: Partial<Pick<ConversationSettingsDoc, 'frozen' | 'slow_mode_seconds'>>, now: Date, traces: EventTrace[] = []): Promise<WithId<ConversationSettingsDoc>> {
    return this.dialect.serialised(`conversation_moderation:${this.tenant('lock')}`, conversationId, async () => {
      const base = { $set: { ...fields, updated_at: now } };
      const update = traces.length
        ? mergeUpdates(base, await this.dialect.traceUpdate(traces, async () => (await this.findOne({ conversation_id: conversationId }, { event_trace: 1 }))?.event_trace))
        : base;
      try {
        return (await this.findOneAndUpdate({ conversation_id: conversationId }, update, { upsert: true, new: true }))!;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        return (await this.findOneAndUpdate({ conversation_id: conversationId }, update, { new: true }))!;
      }
    });
  }
}
