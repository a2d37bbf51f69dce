import { Schema, Types } from 'mongoose';

/** A SaaS client's server key. Only a SHA-256 of the secret part is stored; the prefix finds the record. */
export interface ApiKeyDoc {
  _id: Types.ObjectId;
  tenant_id: string;
  application_id: string;
  name: string;
  /** Public, unique: the `<prefix>` of `ck_<prefix>_<secret>`. */
  prefix: string;
  /** hex SHA-256 of the whole key string. */
  hash: string;
  scopes: string[];
  expires_at?: Date | null;
  revoked_at?: Date | null;
  last_used_at?: Date | null;
  rotated_at?: Date | null;
  /** The key that replaced this one on rotation. */
  replaced_by?: string | null;
  created_by?: string | null;
  created_at: Date;
  updated_at: Date;
}

export const API_KEY_MODEL = 'PlatformApiKey';

export const ApiKeySchema = new Schema<ApiKeyDoc>(
  {
    tenant_id: { type: String, required: true },
    application_id: { type: String, required: true },
    name: { type: String, required: true },
    prefix: { type: String, required: true },
    hash: { type: String, required: true },
    scopes: { type: [String], required: true },
    expires_at: { type: Date, default: null },
    revoked_at: { type: Date, default: null },
    last_used_at: { type: Date, default: null },
    rotated_at: { type: Date, default: null },
    replaced_by: { type: String, default: null },
    created_by: { type: String, default: null },
  },
  { collection: 'api_keys', timestamps: { createdAt: 'created_at', updatedAt: 'updated_at' }, versionKey: false },
);
ApiKeySchema.index({ prefix: 1 }, { unique: true });
ApiKeySchema.index({ tenant_id: 1, application_id: 1, _id: -1 });
