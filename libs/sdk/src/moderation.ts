import type { ConversationModerationView, PinView, RestrictionInput, RestrictionView } from '@chat/contracts';
import { HttpClient, seg } from './http';

/** The moderation views are the wire contract's (libs/contracts). */
export type { ActorRef, ConversationModerationView, PinView, RestrictionInput, RestrictionView, UserBanView } from '@chat/contracts';


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
