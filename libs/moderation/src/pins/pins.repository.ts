import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { DocumentLock, EventTrace, isDuplicateKeyError, mergeUpdates, StoreDialect } from '@chat/database';
import { TenantConnectionResolver, TenantRepository, WithId } from '@chat/tenancy';
import { PIN_MODEL, PinDoc } from './pin.schema';

export type PinRecord = WithId<PinDoc>;

/** Pinned messages of the tenant in context: one document per (conversation, message), kept (unpinned_at set) after an unpin. */
@Injectable()
export class PinsRepository extends TenantRepository<PinDoc> {
  /** Writes to one pin (conversation id, message id) are serialised where the database needs it (StoreDialect: the trace is read, then written). */
  private readonly locked: DocumentLock<[string, string]>;

  constructor(
    @InjectModel(PIN_MODEL) model: Model<PinDoc>,
    resolver: TenantConnectionResolver,
    private readonly dialect: StoreDialect,
  ) {
    super(model, resolver);
    this.locked = dialect.lockFor(() => `pinned_messages:${this.tenant('lock')}`, ([conversationId, messageId]) => `${conversationId}:${messageId}`);
  }

  private traceUpdate(conversationId: string, messageId: string, trace: EventTrace): Promise<Record<string, Record<string, unknown>>> {
    return this.dialect.traceUpdate(trace, async () => (await this.findOne({ conversation_id: conversationId, message_id: messageId }, { event_trace: 1 }))?.event_trace);
  }

  /** Newest pin first. */
  list(conversationId: string, limit: number): Promise<PinRecord[]> {
    return this.find({ conversation_id: conversationId, unpinned_at: null }, { sort: { pinned_at: -1, _id: -1 }, limit });
  }

  count(conversationId: string): Promise<number> {
    return this.countDocuments({ conversation_id: conversationId, unpinned_at: null });
  }

  /**
   * Pins the message; false when it was pinned already. `trace` (moderation.message_pinned) is written
   * with it: inserted with a new pin, or with the update that pins an unpinned one again.
   */
  async insert(pin: Omit<PinDoc, 'tenant_id' | 'event_trace' | 'unpinned_at'>, trace: EventTrace): Promise<boolean> {
    return this.locked([pin.conversation_id, pin.message_id], async () => {
      try {
        await this.insertOne({ ...pin, unpinned_at: null, event_trace: [trace] });
        return true;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      const again = mergeUpdates(
        { $set: { seq: pin.seq, pinned_by: pin.pinned_by, pinned_at: pin.pinned_at, unpinned_at: null } },
        await this.traceUpdate(pin.conversation_id, pin.message_id, trace),
      );
      const res = await this.updateOne({ conversation_id: pin.conversation_id, message_id: pin.message_id, unpinned_at: { $ne: null } }, again);
      return res.modifiedCount > 0;
    });
  }

  /** Unpins (the document stays, carrying `trace`, moderation.message_unpinned); false when it was not pinned. */
  async unpin(conversationId: string, messageId: string, now: Date, trace: EventTrace): Promise<boolean> {
    return this.locked([conversationId, messageId], async () => {
      const update = mergeUpdates({ $set: { unpinned_at: now } }, await this.traceUpdate(conversationId, messageId, trace));
      return (await this.updateOne({ conversation_id: conversationId, message_id: messageId, unpinned_at: null }, update)).modifiedCount > 0;
    });
  }

  /** Deletes it outright: a pin taken back because it landed over the bound (it never applied, so its event goes too). */
  async remove(conversationId: string, messageId: string): Promise<boolean> {
    return (await this.deleteOne({ conversation_id: conversationId, message_id: messageId })).deletedCount > 0;
  }
}
