import { Schema, Types } from 'mongoose';

/** A client's application. Its secret signs end-user JWTs (HS256), so it is stored encrypted, not hashed. */
export interface ApplicationDoc {
  _id: Types.ObjectId;
  tenant_id: string;
  name: string;
  status: 'active' | 'deleted';
  /** SecretBox ciphertext of the current signing secret. */
  secret_enc: string;
  secret_version: number;
  secret_rotated_at?: Date | null;
  /** The secret before the last rotation, still accepted until previous_secret_expires_at. */
  previous_secret_enc?: string | null;
  previous_secret_expires_at?: Date | null;
  settings?: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export const APPLICATION_MODEL = 'PlatformApplication';

export const ApplicationSchema = new Schema<ApplicationDoc>(
  {
    tenant_id: { type: String, required: true },
    name: { type: String, required: true },
    status: { type: String, required: true, enum: ['active', 'deleted'] },
    secret_enc: { type: String, required: true },
    secret_version: { type: Number, required: true },
    secret_rotated_at: { type: Date, default: null },
    previous_secret_enc: { type: String, default: null },
    previous_secret_expires_at: { type: Date, default: null },
    settings: { type: Schema.Types.Mixed },
  },
  { collection: 'applications', timestamps: { createdAt: 'created_at', updatedAt: 'updated_at' }, versionKey: false, minimize: false },
);
ApplicationSchema.index({ tenant_id: 1, _id: -1 });
