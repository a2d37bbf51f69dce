import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { TenantConnectionResolver, TenantRepository } from '@chat/tenancy';
import { SWEPT_CONVERSATION_MODEL, SWEPT_MESSAGE_MODEL, SweptConversationDoc, SweptMessageDoc } from './webhook.schemas';

/** Messages of the tenant in context stored in a time range: ids and metadata only (content is never read). */
@Injectable()
export class SweptMessagesRepository extends TenantRepository<SweptMessageDoc> {
  constructor(@InjectModel(SWEPT_MESSAGE_MODEL) model: Model<SweptMessageDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
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

  createdBetween(from: Date, to: Date, limit: number): Promise<SweptConversationDoc[]> {
    return this.find({ created_at: { $gte: from, $lt: to } }, { projection: { _id: 1, type: 1, 'participants.user_id': 1, created_at: 1 }, sort: { created_at: 1 }, limit });
  }
}
