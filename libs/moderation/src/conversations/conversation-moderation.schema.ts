import { Schema } from 'mongoose';
import { eventTraceSchemaPath, type EventTrace } from '@chat/database';
import { tenantGuardPlugin } from '@chat/tenancy';
import type { ActorRef } from '../common/moderation-actor';

export const RESTRICTION_KINDS = ['mute', 'ban'] as const;
export type RestrictionKind = (typeof RESTRICTION_KINDS)[number];

/**
 * One member's restriction in one conversation: `mute` (read-only) or `ban` (removed, cannot rejoin or
 * be re-added). One document each; its writes are serialised (FerretDB applies updates of one document
 * non-atomically). Lifting (unmute, unban) keeps it, `lifted_at` set, to carry the lift's event trace.
 */
export interface ConversationRestrictionDoc {
  tenant_id: string;
  conversation_id: string;
  user_id: string;
  kind: RestrictionKind;
  reason: string | null;
  /** Null: until lifted. Compared with the Clock. */
  expires_at: Date | null;
  by: ActorRef;
  created_at: Date;
  /** When it was lifted; null or absent while it applies (a new mute or ban sets it back to null). */
  lifted_at?: Date | null;
  /** Webhook events of the mutes / bans and their lifts, written with each (EventTrace). */
  event_trace?: EventTrace[];
}

export const CONVERSATION_RESTRICTION_MODEL = 'ConversationRestriction';
export const ConversationRestrictionSchema = new Schema<ConversationRestrictionDoc>(
  {
    tenant_id: { type: String, required: true },
    conversation_id: { type: String, required: true },
    user_id: { type: String, required: true },
    kind: { type: String, enum: RESTRICTION_KINDS, required: true },
    reason: { type: String, default: null },
    expires_at: { type: Date, default: null },
    by: { type: { type: String, required: true }, id: { type: String, required: true } },
    created_at: { type: Date, required: true },
    lifted_at: { type: Date, default: null },
    event_trace: eventTraceSchemaPath(),
  },
  { collection: 'conversation_restrictions', versionKey: false },
);
ConversationRestrictionSchema.index({ tenant_id: 1, conversation_id: 1, kind: 1, user_id: 1 }, { unique: true });
ConversationRestrictionSchema.plugin(tenantGuardPlugin);

/** A conversation's moderation settings (absent: not frozen, no slow mode). */
export interface ConversationSettingsDoc {
  tenant_id: string;
  conversation_id: string;
  /** Read-only for everyone (system messages from the SaaS server still go through). */
  frozen: boolean;
  /** One message per this many seconds per member (owners and admins exempt); 0: off. */
  slow_mode_seconds: number;
  updated_at: Date;
  /** Webhook events of the changes (frozen, slow mode), written with each (EventTrace). */
  event_trace?: EventTrace[];
}

export const CONVERSATION_SETTINGS_MODEL = 'ConversationModerationSettings';
export const ConversationSettingsSchema = new Schema<ConversationSettingsDoc>(
  {
    tenant_id: { type: String, required: true },
    conversation_id: { type: String, required: true },
    frozen: { type: Boolean, default: false },
    slow_mode_seconds: { type: Number, default: 0 },
    updated_at: { type: Date, required: true },
    event_trace: eventTraceSchemaPath(),
  },
  { collection: 'conversation_moderation', versionKey: false },
);
ConversationSettingsSchema.index({ tenant_id: 1, conversation_id: 1 }, { unique: true });
ConversationSettingsSchema.plugin(tenantGuardPlugin);
