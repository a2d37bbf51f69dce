import { Schema } from 'mongoose';
import { eventTraceSchemaPath, type EventTrace } from '@chat/database';
import { tenantGuardPlugin } from '@chat/tenancy';
import type { ActorRef } from '../common/moderation-actor';

/** A pinned message of a conversation: one document per pin (at most PINS_MAX per conversation). */
export interface PinDoc {
  tenant_id: string;
  conversation_id: string;
  message_id: string;
  seq: number;
  pinned_by: ActorRef;
  pinned_at: Date;
  /** When it was unpinned (the document stays, carrying the unpin's event trace); null or absent while pinned. */
  unpinned_at?: Date | null;
  /** Webhook events of its pins and unpins, written with each (EventTrace). */
  event_trace?: EventTrace[];
}

export const PIN_MODEL = 'PinnedMessage';
export const PinSchema = new Schema<PinDoc>(
  {
    tenant_id: { type: String, required: true },
    conversation_id: { type: String, required: true },
    message_id: { type: String, required: true },
    seq: { type: Number, required: true },
    pinned_by: { type: { type: String, required: true }, id: { type: String, required: true } },
    pinned_at: { type: Date, required: true },
    unpinned_at: { type: Date, default: null },
    event_trace: eventTraceSchemaPath(),
  },
  { collection: 'pinned_messages', versionKey: false },
);
PinSchema.index({ tenant_id: 1, conversation_id: 1, message_id: 1 }, { unique: true });
PinSchema.plugin(tenantGuardPlugin);
