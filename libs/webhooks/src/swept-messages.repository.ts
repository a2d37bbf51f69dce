import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { TenantConnectionResolver, TenantRepository } from '@chat/tenancy';
import { SWEPT_MESSAGE_MODEL, SweptMessageDoc } from './webhook.schemas';

/** Messages of the tenant in context stored in a time range: ids and metadata only (content is never read). */
@Injectable()
export class SweptMessagesRepository extends TenantRepository<SweptMessageDoc> {
  constructor(@InjectModel(SWEPT_MESSAGE_MODEL) model: Model<SweptMessageDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  storedBetween(from: Date, to: Date, limit: number): Promise<SweptMessageDoc[]> {
    return this.find(
      { created_at: { $gte: from, $lt: to } },
      { projection: { _id: 1, conversation_id: 1, seq: 1, sender_id: 1, 'content.type': 1, mentions: 1, thread: 1, gap: 1, created_at: 1 }, sort: { created_at: 1 }, limit },
    );
  }
}
