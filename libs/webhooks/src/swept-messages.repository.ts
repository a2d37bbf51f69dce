import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types } from 'mongoose';
import { TenantConnectionResolver, TenantRepository } from '@chat/tenancy';
import { SWEPT_CONVERSATION_MODEL, SWEPT_MESSAGE_MODEL, SWEPT_REPORT_MODEL, SweptConversationDoc, SweptMessageDoc, SweptReportDoc } from './webhook.schemas';

/** Messages of the tenant in context stored in a time range: ids and metadata only (content is never read). */
@Injectable()
export class SweptMessagesRepository extends TenantRepository<SweptMessageDoc> {
  constructor(@InjectModel(SWEPT_MESSAGE_MODEL) model: Model<SweptMessageDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  /** Messages deleted (tombstoned) in a range, oldest deletion first. Gap fillers are tombstones too: the caller skips them. */
  deletedBetween(from: Date, to: Date, limit: number): Promise<SweptMessageDoc[]> {
    return this.find(
      { deleted_at: { $gte: from, $lt: to } },
      { projection: { _id: 1, conversation_id: 1, seq: 1, gap: 1, created_at: 1, deleted_at: 1 }, sort: { deleted_at: 1 }, limit },
    );
  }

  /** Messages whose latest edit falls in a range, oldest first. */
  editedBetween(from: Date, to: Date, limit: number): Promise<SweptMessageDoc[]> {
    return this.find(
      { edited_at: { $gte: from, $lt: to } },
      { projection: { _id: 1, conversation_id: 1, seq: 1, sender_id: 1, thread: 1, gap: 1, created_at: 1, edited_at: 1 }, sort: { edited_at: 1 }, limit },
    );
  }

  storedBetween(from: Date, to: Date, limit: number): Promise<SweptMessageDoc[]> {
    return this.find(
      { created_at: { $gte: from, $lt: to } },
      { projection: { _id: 1, conversation_id: 1, seq: 1, sender_id: 1, 'content.type': 1, type: 1, mentions: 1, thread: 1, gap: 1, created_at: 1 }, sort: { created_at: 1 }, limit },
    );
  }
}

/** Conversations of the tenant in context created in a time range (type and member ids only). */
@Injectable()
export class SweptConversationsRepository extends TenantRepository<SweptConversationDoc> {
  constructor(@InjectModel(SWEPT_CONVERSATION_MODEL) model: Model<SweptConversationDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  /**
   * Conversations with a logged membership change in a range (their change log only). Not paged: the
   * window is the sweep interval plus its overlap (an hour after a start), `cap` bounds it.
   */
  withMemberChangesBetween(from: Date, to: Date, cap: number): Promise<SweptConversationDoc[]> {
    return this.find({ 'member_changes.at': { $gte: from, $lt: to } }, { projection: { _id: 1, member_changes: 1, created_at: 1 }, limit: cap });
  }

  /**
   * What notification.offline needs of the conversations of some messages: type, name, and each
   * member's mute setting and delivered position. One bare-`_id` read each (FerretDB serves only those
   * from an index); a page of messages touches few conversations.
   */
  async membersOf(ids: string[]): Promise<Map<string, SweptConversationDoc>> {
    const out = new Map<string, SweptConversationDoc>();
    for (const id of new Set(ids)) {
      if (!TenantRepository.isObjectId(id)) continue;
      const c = await this.findOne({ _id: new Types.ObjectId(id) }, { type: 1, 'metadata.name': 1, 'participants.user_id': 1, 'participants.settings.muted': 1, 'participants.last_delivered_seq': 1 });
      if (c) out.set(id, c);
    }
    return out;
  }

  createdBetween(from: Date, to: Date, limit: number): Promise<SweptConversationDoc[]> {
    return this.find({ created_at: { $gte: from, $lt: to } }, { projection: { _id: 1, type: 1, 'participants.user_id': 1, created_at: 1 }, sort: { created_at: 1 }, limit });
  }
}

/** Message reports of the tenant in context created or resolved in a time range (ids and metadata only: never the payload or key). */
@Injectable()
export class SweptReportsRepository extends TenantRepository<SweptReportDoc> {
  constructor(@InjectModel(SWEPT_REPORT_MODEL) model: Model<SweptReportDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  private static readonly META = { _id: 1, conversation_id: 1, message_id: 1, sender_id: 1, reporter_id: 1, reason: 1, verified: 1, status: 1, resolution: 1, created_at: 1 } as const;

  createdBetween(from: Date, to: Date, limit: number): Promise<SweptReportDoc[]> {
    return this.find({ created_at: { $gte: from, $lt: to } }, { projection: SweptReportsRepository.META, sort: { created_at: 1 }, limit });
  }

  resolvedBetween(from: Date, to: Date, limit: number): Promise<SweptReportDoc[]> {
    return this.find({ 'resolution.at': { $gte: from, $lt: to } }, { projection: SweptReportsRepository.META, sort: { 'resolution.at': 1 }, limit });
  }
}
