import { Injectable, OnModuleInit } from '@nestjs/common';
import { ConversationPolicy, ConversationsService, ConversationView, SendPolicyCheck } from '@chat/chat';
import { AppError, ErrorCode } from '@chat/errors';
import { TenantContext } from '@chat/tenancy';
import { ConversationModerationService, isMuted, ModerationState, moderationErrors } from './conversation-moderation.service';
import { exemptFromSlowMode } from './moderator';
import { SlowModeTurns } from './slow-mode';

/**
 * What moderation refuses in the chat core, registered with ConversationsService at start-up: the send
 * path's one call (frozen, muted, slow mode; REST and socket share it) and the admission check (banned
 * users cannot join or be added). The state read is cached; only a slow-mode turn costs a Redis call.
 */
@Injectable()
export class ModerationPolicy implements ConversationPolicy, OnModuleInit {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly moderation: ConversationModerationService,
    private readonly turns: SlowModeTurns,
  ) {}

  onModuleInit(): void {
    this.conversations.setPolicy(this);
  }

  startSend(conversationId: string): SendPolicyCheck {
    const read = this.moderation.state(conversationId);
    // Awaited by the check; a send refused before it (not a member) never asks.
    read.catch(() => undefined);
    return async (conversation, senderId) => this.checkSend(conversation, senderId, await read);
  }

  private async checkSend(conversation: ConversationView, senderId: string, s: ModerationState): Promise<void> {
    this.refuseReadOnly(s, senderId);
    if (s.slow_mode_seconds > 0 && !exemptFromSlowMode(conversation.participants.find((p) => p.user_id === senderId))) {
      const wait = await this.turns.take(TenantContext.requireTenantId('slow mode'), conversation.id, senderId, s.slow_mode_seconds);
      if (wait > 0) {
        const seconds = Math.ceil(wait / 1000);
        throw new AppError(ErrorCode.RateLimited, `Slow mode: one message every ${s.slow_mode_seconds} seconds`, { reason: 'slow_mode', retry_after_seconds: seconds }, seconds);
      }
    }
  }

  async checkWrite(conversation: ConversationView, userId: string): Promise<void> {
    this.refuseReadOnly(await this.moderation.state(conversation.id), userId);
  }

  private refuseReadOnly(s: ModerationState, userId: string): void {
    if (s.frozen) throw moderationErrors.frozen();
    if (isMuted(s, userId)) throw moderationErrors.muted(s.muted[userId] ?? null);
  }

  async checkAdmission(conversationId: string, userIds: string[]): Promise<void> {
    const banned = await this.moderation.bannedAmong(conversationId, userIds);
    if (banned.length) throw new AppError(ErrorCode.Forbidden, 'Banned from this conversation', { reason: 'banned', banned_user_ids: banned });
  }
}
