import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { isDuplicateKeyError } from '@chat/database';
import { TenantConnectionResolver, TenantRepository, WithId } from '@chat/tenancy';
import { PIN_MODEL, PinDoc } from './pin.schema';

export type PinRecord = WithId<PinDoc>;

@Injectable()
export class PinsRepository extends TenantRepository<PinDoc> {
  constructor(@InjectModel(PIN_MODEL) model: Model<PinDoc>, resolver: TenantConnectionResolver) {
    super(model, resolver);
  }

  /** Newest pin first. */
  list(conversationId: string, limit: number): Promise<PinRecord[]> {
    return this.find({ conversation_id: conversationId }, { sort: { pinned_at: -1, _id: -1 }, limit });
  }

  count(conversationId: string): Promise<number> {
    return this.countDocuments({ conversation_id: conversationId });
  }

  /** Inserts the pin; false when the message was pinned already. */
  async insert(pin: Omit<PinDoc, 'tenant_id'>): Promise<boolean> {
    try {
      await this.insertOne(pin);
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  async remove(conversationId: string, messageId: string): Promise<boolean> {
    return (await this.deleteOne({ conversation_id: conversationId, message_id: messageId })).deletedCount > 0;
  }
}
