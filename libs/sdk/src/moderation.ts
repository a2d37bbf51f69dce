import { HttpClient, seg } from './http';

/** docs/moderation.md: who banned, muted or pinned. */
export interface ActorRef {
  type: 'user' | 'api_key' | 'admin';
  id: string;
}

export interface RestrictionInput {
  reason?: string;
  /** ISO 8601; absent: until lifted. */
  expires_at?: string;
}

export interface RestrictionView {
  user_id: string;
  reason: string | null;
  expires_at: string | null;
  by: ActorRef;
  created_at: string;
}

export interface UserBanView extends RestrictionView {
  /** False once expires_at has passed. */
  active: boolean;
}

export interface ConversationModerationView {
  conversation_id: string;
  frozen: boolean;
  slow_mode_seconds: number;
  muted: Array<{ user_id: string; expires_at: string | null }>;
  /** The calling member's own state (null for an API key). */
  me: { muted: boolean; muted_until: string | null; exempt_from_slow_mode: boolean } | null;
}

export interface PinView {
  message_id: string;
  seq: number;
  pinned_by: ActorRef;
  pinned_at: string;
}

/**
 * Moderation of one conversation (`client.moderation`): for its owners and admins (ChatUserClient) or
 * the SaaS server (ChatServerClient, scopes `moderation:read` / `moderation:write`).
 */
export class ConversationModerationApi {
  constructor(private readonly http: HttpClient) {}

  get(conversationId: string): Promise<ConversationModerationView> {
    return this.http.get(`/v1/conversations/${seg(conversationId)}/moderation`);
  }
  /** Freeze / unfreeze; slow mode in seconds (0: off). */
  update(conversationId: string, input: { frozen?: boolean; slow_mode_seconds?: number }): Promise<ConversationModerationView> {
    return this.http.patch(`/v1/conversations/${seg(conversationId)}/moderation`, input);
  }
  mute(conversationId: string, userId: string, input: RestrictionInput = {}): Promise<RestrictionView> {
    return this.http.put(`/v1/conversations/${seg(conversationId)}/mutes/${seg(userId)}`, input);
  }
  unmute(conversationId: string, userId: string): Promise<void> {
    return this.http.delete(`/v1/conversations/${seg(conversationId)}/mutes/${seg(userId)}`);
  }
  ban(conversationId: string, userId: string, input: RestrictionInput = {}): Promise<RestrictionView> {
    return this.http.put(`/v1/conversations/${seg(conversationId)}/bans/${seg(userId)}`, input);
  }
  unban(conversationId: string, userId: string): Promise<void> {
    return this.http.delete(`/v1/conversations/${seg(conversationId)}/bans/${seg(userId)}`);
  }
  bans(conversationId: string, q: { cursor?: string; limit?: number } = {}): Promise<{ data: RestrictionView[]; next_cursor: string | null }> {
    return this.http.get(`/v1/conversations/${seg(conversationId)}/bans`, q);
  }
  pins(conversationId: string): Promise<{ data: PinView[]; next_cursor: null }> {
    return this.http.get(`/v1/conversations/${seg(conversationId)}/pins`);
  }
  pin(conversationId: string, messageId: string): Promise<PinView> {
    return this.http.put(`/v1/conversations/${seg(conversationId)}/pins/${seg(messageId)}`);
  }
  unpin(conversationId: string, messageId: string): Promise<void> {
    return this.http.delete(`/v1/conversations/${seg(conversationId)}/pins/${seg(messageId)}`);
  }
}
