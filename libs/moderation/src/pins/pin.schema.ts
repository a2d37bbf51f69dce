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
  /** The pin's moderation.message_pinned webhook event, inserted with it (EventTrace). An unpin deletes the document. */
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
    event_trace: eventTraceSchemaPath(),
  },
  { collection: 'pinned_messages', versionKey: false },
);
PinSchema.index({ tenant_id: 1, conversation_id: 1, message_id: 1 }, { unique: true });
PinSchema.plugin(tenantGuardPlugin);
