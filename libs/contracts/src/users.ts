import type { IsoDate } from './common';

export const USER_STATUSES = ['online', 'offline', 'away', 'dnd'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export interface UserProfile {
  display_name: string | null;
  avatar_url: string | null;
  status: UserStatus;
  custom_data: Record<string, unknown> | null;
}

/** An end user as the SaaS client (API key) and the user themself see them. */
export interface UserView {
  external_id: string;
  profile: UserProfile;
  settings: { notifications: Record<string, unknown>; privacy: Record<string, unknown> };
  encryption: { public_key: string | null; key_version: number | null };
  deactivated: boolean;
  deactivated_at: IsoDate | null;
  created_at: IsoDate;
  updated_at: IsoDate;
  last_seen: IsoDate | null;
}

/** An end user as other end users of the tenant see them: no settings nor account dates. */
export type PublicUserView = Omit<UserView, 'settings' | 'created_at' | 'updated_at' | 'deactivated_at'>;

/** GET /v1/users/{external_id} and the user lists answer one or the other, by who asks. */
export type AnyUserView = UserView | PublicUserView;

export const RELATIONSHIP_TYPES = ['friend', 'blocked', 'muted'] as const;
export type RelationshipType = (typeof RELATIONSHIP_TYPES)[number];

export interface RelationshipView {
  user_id: string;
  type: RelationshipType;
  created_at: IsoDate;
}
