import type { ConversationView } from './conversation.views';

/**
 * What moderation (libs/moderation) may refuse in the chat core, registered at start-up so the chat lib
 * does not depend on it. One call per path: `checkSend` on the send paths (REST and socket share one;
 * MLS application messages), `checkWrite` on edits and new reactions, `checkAdmission` where users join
 * or are added. Each throws an AppError to refuse.
 */
export interface ConversationPolicy {
  /** Muted sender, frozen conversation, slow mode. Runs after the send's own checks, before it is queued. */
  checkSend(conversation: ConversationView, senderId: string): Promise<void>;
  /** Frozen conversation, muted member: for edits and new reactions (no slow-mode turn). */
  checkWrite(conversation: ConversationView, userId: string): Promise<void>;
  /** Users banned from this conversation cannot join or be added. */
  checkAdmission(conversationId: string, userIds: string[]): Promise<void>;
}
