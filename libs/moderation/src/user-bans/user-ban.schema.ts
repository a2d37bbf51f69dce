import { Schema } from 'mongoose';
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
  },
  { collection: 'user_bans', versionKey: false },
);
UserBanSchema.index({ tenant_id: 1, user_id: 1 }, { unique: true });
UserBanSchema.plugin(tenantGuardPlugin);
