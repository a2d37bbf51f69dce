import { Schema } from 'mongoose';
import { eventTraceSchemaPath, type EventTrace } from '@chat/database';
import { tenantGuardPlugin } from '@chat/tenancy';
import type { ActorRef } from '../common/moderation-actor';

/** A tenant-wide ban of one end user: no request, handshake or socket event of theirs is served until it ends. */
export interface UserBanDoc {
  tenant_id: string;
  /** The end user's external id. */
  user_id: string;
  reason: string | null;
  /** Null: until unbanned. Compared with the Clock on every check, so an expired ban simply stops applying. */
  expires_at: Date | null;
  by: ActorRef;
  created_at: Date;
  /**
   * When an unban lifted it (the document stays, carrying the unban's event trace); null or absent while
   * it applies. A new ban of the user sets it back to null.
   */
  lifted_at?: Date | null;
  /** Webhook events of the bans and unbans, written with each (EventTrace). */
  event_trace?: EventTrace[];
}

export const USER_BAN_MODEL = 'UserBan';

export const UserBanSchema = new Schema<UserBanDoc>(
  {
    tenant_id: { type: String, required: true },
    user_id: { type: String, required: true },
    reason: { type: String, default: null },
    expires_at: { type: Date, default: null },
    by: { type: { type: String, required: true }, id: { type: String, required: true } },
    created_at: { type: Date, required: true },
    lifted_at: { type: Date, default: null },
    event_trace: eventTraceSchemaPath(),
  },
  { collection: 'user_bans', versionKey: false },
);
UserBanSchema.index({ tenant_id: 1, user_id: 1 }, { unique: true });
UserBanSchema.plugin(tenantGuardPlugin);
