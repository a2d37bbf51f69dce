import { Injectable } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { AppError } from '@chat/errors';
import { TenantContext } from '@chat/tenancy';
import { ChatEventBus } from '../events/chat-events';
import { ConversationSeqs } from '../conversations/conversation-seqs';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { ConversationsService } from '../conversations/conversations.service';
import { MessagesRepository } from './messages.repository';
import { RecentMessagesCache } from './recent-messages';

export interface ReceiptView {
  conversation_id: string;
  user_id: string;
  last_read_seq?: number;
  last_delivered_seq: number;
}

/** Read and delivery receipts: a position per member, then the messages in between marked. */
@Injectable()
export class MessageReceiptService {
  constructor(
    private readonly repo: MessagesRepository,
    private readonly conversations: ConversationsService,
    private readonly conversationsRepo: ConversationsRepository,
    private readonly recentCache: RecentMessagesCache,
    private readonly events: ChatEventBus,
    private readonly config: AppConfig,
    private readonly seqs: ConversationSeqs,
  ) {}

  /**
   * Moves the reader's position forward (never back; capped at the conversation's last seq), then marks
   * the messages in between: status read, and read_by in conversations small enough for per-message receipts.
   */
  async markRead(userId: string, conversationId: string, seq: number): Promise<ReceiptView> {
    // Capped at the stream end, which the seq counter may know before the conversation document does.
    const [conv, lastSeq] = await Promise.all([this.conversations.requireMember(conversationId, userId), this.seqs.counterSeq(conversationId)]);
    const r = await this.conversationsRepo.markRead(conversationId, userId, seq, lastSeq);
    if (!r) throw AppError.notFound('Conversation');
    if (r.changed) {
      // The updates are conditional (reader not in read_by yet), so re-covering read messages is a no-op.
      const from = Math.max(0, r.last_read_seq - this.config.RECEIPTS_MAX_MESSAGES);
      const withReadBy = conv.participants.length <= this.config.READ_RECEIPTS_MAX_MEMBERS;
      await this.repo.markReadRange(conversationId, userId, from, r.last_read_seq, new Date(), withReadBy);
      await this.recentCache.changed(conversationId);
      this.events.emit('conversation.read', { tenantId: TenantContext.requireTenantId('messages'), conversationId, user_id: userId, seq: r.last_read_seq });
    }
    return { conversation_id: conversationId, user_id: userId, last_read_seq: r.last_read_seq, last_delivered_seq: r.last_delivered_seq };
  }

  async markDelivered(userId: string, conversationId: string, seq: number): Promise<ReceiptView> {
    const [, lastSeq] = await Promise.all([this.conversations.requireMember(conversationId, userId), this.seqs.counterSeq(conversationId)]);
    const r = await this.conversationsRepo.markDelivered(conversationId, userId, seq, lastSeq);
    if (!r) throw AppError.notFound('Conversation');
    if (r.changed) {
      const from = Math.max(0, r.last_delivered_seq - this.config.RECEIPTS_MAX_MESSAGES);
      await this.repo.markDeliveredRange(conversationId, userId, from, r.last_delivered_seq);
      await this.recentCache.changed(conversationId);
      this.events.emit('message.delivered', { tenantId: TenantContext.requireTenantId('messages'), conversationId, user_id: userId, seq: r.last_delivered_seq });
    }
    return { conversation_id: conversationId, user_id: userId, last_delivered_seq: r.last_delivered_seq };
  }
}
