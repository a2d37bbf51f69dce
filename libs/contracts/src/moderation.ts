import type { IsoDate } from './common';

/** docs/moderation.md: who banned, muted or pinned. */
export interface ActorRef {
  type: 'user' | 'api_key' | 'admin';
  id: string;
}

/** Body of a ban or a mute. */
export interface RestrictionInput {
  reason?: string;
  /** ISO 8601; absent: until lifted. */
  expires_at?: IsoDate;
}

/** A conversation ban or mute of one member. */
export interface RestrictionView {
  user_id: string;
  reason: string | null;
  expires_at: IsoDate | null;
  by: ActorRef;
  created_at: IsoDate;
}

/** A tenant-wide ban of an end user. */
export interface UserBanView extends RestrictionView {
  /** False once expires_at has passed (the record stays until unbanned). */
  active: boolean;
}

/** A conversation's moderation as members see it. */
export interface ConversationModerationView {
  conversation_id: string;
  frozen: boolean;
  slow_mode_seconds: number;
  muted: Array<{ user_id: string; expires_at: IsoDate | null }>;
  /** The calling member's own state (null for an API key). */
  me: { muted: boolean; muted_until: IsoDate | null; exempt_from_slow_mode: boolean } | null;
}

export interface PinView {
  message_id: string;
  seq: number;
  pinned_by: ActorRef;
  pinned_at: IsoDate;
}
