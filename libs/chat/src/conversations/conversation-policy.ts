import type { ConversationView } from './conversation.views';

/**
 * What moderation (libs/moderation) may refuse in the chat core, registered at start-up so the chat lib
 * does not depend on it. One call per path: `startSend` on the send paths (REST and socket share one;
 * MLS application messages), `checkWrite` on edits and new reactions, `checkAdmission` where users join
 * or are added. Each throws an AppError to refuse.
 */
export interface ConversationPolicy {
  /**
   * Muted sender, frozen conversation, slow mode, in two steps: the state is read now, by conversation
   * id (the send starts it with its membership read, so they share one cache round trip); the returned
   * check refuses, after the send's own checks, before it is queued.
   */
  startSend(conversationId: string): SendPolicyCheck;
  /** Frozen conversation, muted member: for edits and new reactions (no slow-mode turn). */
  checkWrite(conversation: ConversationView, userId: string): Promise<void>;
  /** Users banned from this conversation cannot join or be added. */
  checkAdmission(conversationId: string, userIds: string[]): Promise<void>;
}

/** The second step of ConversationPolicy.startSend: throws an AppError to refuse the send. */
export type SendPolicyCheck = (conversation: ConversationView, senderId: string) => Promise<void>;
