import { Injectable } from '@nestjs/common';
import { ConversationsService, MEMBER_CONVERSATION_IDS_MAX } from '@chat/chat';

/** A socket joins at most this many conversation rooms at connect (the rest still work over REST and sync). */
export const MAX_ROOMS_PER_SOCKET = MEMBER_CONVERSATION_IDS_MAX;

/**
 * The conversations a user is in, as ids only, for joining socket rooms at connect time and for the
 * presence audience. Runs inside the caller's TenantContext. Cached (see
 * ConversationsService.memberConversationIds): a reconnect storm does not become a query storm.
 */
@Injectable()
export class RealtimeMembership {
  constructor(private readonly conversations: ConversationsService) {}

  /** `fresh`: bypass the cache (re-checking rooms after a removal that raced the join). */
  conversationIdsOf(userId: string, opts: { fresh?: boolean } = {}): Promise<string[]> {
    return this.conversations.memberConversationIds(userId, opts);
  }
}
