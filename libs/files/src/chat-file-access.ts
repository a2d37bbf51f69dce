import { Injectable } from '@nestjs/common';
import { ConversationAccess, MessageQueryService } from '@chat/chat';

/** Membership and message lookups the files need from chat core (an interface, so unit tests stub it). */
export interface FileChatAccess {
  /** Resolves if the user is a member, throws 404 otherwise. */
  requireMember(conversationId: string, userId: string): Promise<unknown>;
  /** The message as the user may see it (404 otherwise). */
  getMessage(userId: string, conversationId: string, messageId: string): Promise<{ id: string; sender_id: string; deleted_at: string | Date | null }>;
}

/** The chat look-ups a file access check needs: membership (cached) and a message as the user may see it. */
@Injectable()
export class ChatFileAccess implements FileChatAccess {
  constructor(
    private readonly access: ConversationAccess,
    private readonly queries: MessageQueryService,
  ) {}

  requireMember(conversationId: string, userId: string): Promise<unknown> {
    return this.access.requireMember(conversationId, userId);
  }

  getMessage(userId: string, conversationId: string, messageId: string): Promise<{ id: string; sender_id: string; deleted_at: string | Date | null }> {
    return this.queries.get(userId, conversationId, messageId);
  }
}
