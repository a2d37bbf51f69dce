import { Inject, Injectable, Optional } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { eventTrace } from '@chat/database';
import { AppError } from '@chat/errors';
import { KeyDirectoryService } from '@chat/keys';
import { TenantContext } from '@chat/tenancy';
import { ChatEventBus } from '../events/chat-events';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { ConversationsService } from '../conversations/conversations.service';
import { EditMessageDto } from './message.dto';
import { MessageRecord } from './message.schema';
import { MessageView, toMessageView } from './message.view';
import { asRecord, checkEmoji, checkEnvelope, checkMentions, dedupe, memberIdsOf, nextChange, plainContent, reactionKey } from './message-rules';
import { MessageQueryService } from './message-query.service';
import { MessagesRepository } from './messages.repository';
import { RecentMessagesCache } from './recent-messages';
import { checkRecipients, E2eV2Gate } from './e2e-v2';

/**
 * Changes to stored messages: edits, tombstone deletes (with the thread counter), reactions. Each
 * takes the conversation's next change position first (see MessageStream.changes), then writes, drops
 * the cached newest page and raises its event.
 */
@Injectable()
export class MessageEditService {
  constructor(
    private readonly repo: MessagesRepository,
    private readonly conversations: ConversationsService,
    private readonly conversationsRepo: ConversationsRepository,
    private readonly queries: MessageQueryService,
    private readonly recentCache: RecentMessagesCache,
    private readonly events: ChatEventBus,
    private readonly config: AppConfig,
    private readonly keyDirectory: KeyDirectoryService,
    // E2E v2 check, bound by the MLS Delivery Service (libs/mls); absent: v2 is refused.
    @Optional() @Inject(E2eV2Gate) private readonly v2Gate?: E2eV2Gate,
  ) {}

  private tenant() {
    return TenantContext.requireTenantId('messages');
  }

  async edit(userId: string, conversationId: string, messageId: string, dto: EditMessageDto): Promise<MessageView> {
    const conv = await this.conversations.requireMember(conversationId, userId);
    // Moderation: a frozen conversation or a muted member cannot rewrite messages either.
    await this.conversations.checkWritePolicy(conv, userId);
    const memberIds = memberIdsOf(conv);
    checkEnvelope(dto.content, dto.search_tokens, this.config.MESSAGE_MAX_BYTES);
    await checkRecipients(this.keyDirectory, this.v2Gate, { id: conversationId, memberIds }, dto.content);
    checkMentions(dto.mentions, memberIds);
    const change = await nextChange(this.conversationsRepo, conversationId);
    const updated = await this.repo.edit(
      conversationId,
      messageId,
      userId,
      { content: plainContent(dto.content), preview: dto.preview ?? null, search_tokens: dedupe(dto.search_tokens ?? []), mentions: dedupe(dto.mentions ?? []) },
      // After taking the change position: updated_at then tells when the position is settled (MessageStream.changes).
      new Date(),
      change,
    );
    if (updated) await this.recentCache.changed(conversationId);
    if (!updated) {
      const m = await this.repo.findInConversation(conversationId, messageId);
      if (!m) throw AppError.notFound('Message');
      if (m.sender_id !== userId) throw AppError.forbidden('Only the sender can edit a message');
      throw AppError.conflict('The message was deleted');
    }
    const view = toMessageView(updated);
    this.events.emit('message.updated', { tenantId: this.tenant(), conversationId, message: asRecord(view) });
    return view;
  }

  /** Soft delete by the sender, or by an owner/admin of a group or channel. Idempotent: returns the tombstone. */
  async remove(userId: string, conversationId: string, messageId: string): Promise<MessageView> {
    const conv = await this.conversations.requireMember(conversationId, userId);
    const m = await this.repo.findInConversation(conversationId, messageId);
    if (!m) throw AppError.notFound('Message');
    if (m.sender_id !== userId) {
      const role = conv.participants.find((p) => p.user_id === userId)?.role;
      if (conv.type === 'direct' || (role !== 'owner' && role !== 'admin')) {
        throw AppError.forbidden('Only the sender or a conversation admin can delete this message');
      }
    }
    return this.tombstone(conversationId, messageId, m);
  }

  /**
   * Delete by the tenant's moderation (the SaaS client's server or a platform admin acting on a report,
   * libs/reports): no membership, otherwise the same tombstone, events and thread counter as remove().
   */
  async removeByModerator(conversationId: string, messageId: string): Promise<MessageView> {
    const m = await this.repo.findInConversation(conversationId, messageId);
    if (!m) throw AppError.notFound('Message');
    return this.tombstone(conversationId, messageId, m);
  }

  private async tombstone(conversationId: string, messageId: string, m: MessageRecord): Promise<MessageView> {
    if (m.deleted_at) return toMessageView(m);
    const change = await nextChange(this.conversationsRepo, conversationId);
    const now = new Date();
    const deleted = await this.repo.softDelete(conversationId, messageId, now, change);
    if (deleted) await this.recentCache.changed(conversationId);
    if (!deleted) {
      const current = await this.repo.findInConversation(conversationId, messageId);
      if (!current) throw AppError.notFound('Message');
      return toMessageView(current); // deleted concurrently
    }
    const tenantId = this.tenant();
    this.events.emit('message.deleted', { tenantId, conversationId, messageId: String(deleted._id), seq: deleted.seq, deleted_at: now.toISOString() });
    if (deleted.thread?.parent_id) {
      const parent = await this.repo.incReplyCount(conversationId, deleted.thread.parent_id, -1, new Date(), await nextChange(this.conversationsRepo, conversationId));
      await this.recentCache.changed(conversationId);
      if (parent) this.events.emit('message.updated', { tenantId, conversationId, message: asRecord(toMessageView(parent)) });
    }
    return toMessageView(deleted);
  }

  async addReaction(userId: string, conversationId: string, messageId: string, emoji: string): Promise<MessageView> {
    checkEmoji(emoji);
    const conv = await this.conversations.requireMember(conversationId, userId);
    await this.conversations.checkWritePolicy(conv, userId);
    const change = await nextChange(this.conversationsRepo, conversationId);
    const now = new Date();
    // The webhook event is written with the reaction (docs/webhooks.md, Durability). No emoji in it: an
    // E2E client's reaction is an encrypted token, and webhook events carry ids and metadata only.
    const trace = eventTrace('reaction.new', { message_id: messageId, conversation_id: conversationId, user_id: userId }, now);
    const r = await this.repo.addReaction(conversationId, messageId, { user_id: userId, emoji, key: reactionKey(userId, emoji), created_at: now }, change, trace);
    if (r === 'missing') throw AppError.notFound('Message');
    if (r === 'added') await this.recentCache.changed(conversationId);
    if (r === 'added') this.events.emit('reaction.added', { tenantId: this.tenant(), conversationId, messageId, user_id: userId, emoji, trace });
    return this.queries.get(userId, conversationId, messageId);
  }

  async removeReaction(userId: string, conversationId: string, messageId: string, emoji: string): Promise<MessageView> {
    checkEmoji(emoji);
    await this.conversations.requireMember(conversationId, userId);
    const change = await nextChange(this.conversationsRepo, conversationId);
    const now = new Date();
    const trace = eventTrace('reaction.deleted', { message_id: messageId, conversation_id: conversationId, user_id: userId }, now);
    const r = await this.repo.removeReaction(conversationId, messageId, reactionKey(userId, emoji), now, change, trace);
    if (r === 'missing') throw AppError.notFound('Message');
    if (r === 'removed') await this.recentCache.changed(conversationId);
    if (r === 'removed') this.events.emit('reaction.removed', { tenantId: this.tenant(), conversationId, messageId, user_id: userId, emoji, trace });
    return this.queries.get(userId, conversationId, messageId);
  }
}
