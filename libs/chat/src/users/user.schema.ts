import { Schema } from 'mongoose';
import { RELATIONSHIP_TYPES, USER_STATUSES, type RelationshipType, type UserStatus } from '@chat/contracts';
import { eventTraceSchemaPath, type EventTrace } from '@chat/database';
import { tenantGuardPlugin } from '@chat/tenancy';

export const USER_MODEL = 'User';

export interface UserRelationship {
  user_id: string;
  type: RelationshipType;
  created_at: Date;
}

export interface UserProfile {
  display_name: string | null;
  avatar_url: string | null;
  status: UserStatus;
  custom_data: Record<string, unknown> | null;
}

export interface UserSettings {
  notifications: Record<string, unknown>;
  privacy: Record<string, unknown>;
}

export interface UserEncryption {
  public_key: string | null;
  key_version: number | null;
}

/** An end user of a tenant, identified by the tenant's own id for them (`external_id`). */
export interface UserDoc {
  tenant_id: string;
  external_id: string;
  profile: UserProfile;
  settings: UserSettings;
  encryption: UserEncryption;
  relationships: UserRelationship[];
  /** Bumped by every relationships write: the compare-and-set guard (FerretDB's $pull only matches whole elements). */
  rel_version: number;
  /** Lower-cased display name (the contract's search field). */
  search_name: string | null;
  /** Lower-cased display name, each of its words and the external id: prefix search matches any element. */
  search_keys: string[];
  deactivated_at: Date | null;
  created_at: Date;
  updated_at: Date;
  last_seen: Date | null;
  /** Webhook events of this user's changes, written with each (EventTrace; never in a view). */
  event_trace?: EventTrace[];
}

const RelationshipSchema = new Schema<UserRelationship>(
  {
    user_id: { type: String, required: true },
    type: { type: String, enum: RELATIONSHIP_TYPES, required: true },
    created_at: { type: Date, required: true },
  },
  { _id: false },
);

export const UserSchema = new Schema<UserDoc>(
  {
    tenant_id: { type: String, required: true },
    external_id: { type: String, required: true },
    profile: {
      display_name: { type: String, default: null },
      avatar_url: { type: String, default: null },
      status: { type: String, enum: USER_STATUSES, default: 'offline' },
      custom_data: { type: Schema.Types.Mixed, default: null },
    },
    settings: {
      notifications: { type: Schema.Types.Mixed, default: () => ({}) },
      privacy: { type: Schema.Types.Mixed, default: () => ({}) },
    },
    encryption: {
      public_key: { type: String, default: null },
      key_version: { type: Number, default: null },
    },
    relationships: { type: [RelationshipSchema], default: [] },
    rel_version: { type: Number, default: 0 },
    search_name: { type: String, default: null },
    search_keys: { type: [String], default: [] },
    deactivated_at: { type: Date, default: null },
    created_at: { type: Date, required: true },
    updated_at: { type: Date, required: true },
    last_seen: { type: Date, default: null },
    event_trace: eventTraceSchemaPath(),
  },
  { collection: 'users', versionKey: false, minimize: false, strict: true },
);

UserSchema.index({ tenant_id: 1, external_id: 1 }, { unique: true });
UserSchema.index({ tenant_id: 1, last_seen: 1 });
UserSchema.index({ tenant_id: 1, search_name: 1 });
UserSchema.index({ tenant_id: 1, search_keys: 1 });
UserSchema.plugin(tenantGuardPlugin);

/** The search keys of a user: what a prefix query may match (all lower-case, deduplicated). */
export function searchKeysFor(externalId: string, displayName: string | null | undefined): string[] {
  const keys = new Set<string>([externalId.toLowerCase()]);
  const name = (displayName ?? '').trim().toLowerCase();
  if (name) {
    keys.add(name);
    for (const word of name.split(/\s+/)) if (word) keys.add(word);
  }
  return [...keys];
}
