import { Schema, Types } from 'mongoose';

export type AdminRole = 'owner' | 'support';
export const ADMIN_ROLES: readonly AdminRole[] = ['owner', 'support'];

export interface PlatformAdminDoc {
  _id: Types.ObjectId;
  email: string;
  /** argon2id. */
  password_hash: string;
  role: AdminRole;
  status: 'active' | 'disabled';
  last_login_at?: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const PLATFORM_ADMIN_MODEL = 'PlatformAdmin';

export const PlatformAdminSchema = new Schema<PlatformAdminDoc>(
  {
    email: { type: String, required: true },
    password_hash: { type: String, required: true },
    role: { type: String, required: true, enum: ['owner', 'support'] },
    status: { type: String, required: true, enum: ['active', 'disabled'] },
    last_login_at: { type: Date, default: null },
  },
  { collection: 'platform_admins', timestamps: { createdAt: 'created_at', updatedAt: 'updated_at' }, versionKey: false },
);
PlatformAdminSchema.index({ email: 1 }, { unique: true });
