import { Injectable } from '@nestjs/common';
import { Page } from '../users/pagination';
import { EditMessageDto, SendMessageDto } from './message.dto';
import { MessageContent } from './message.schema';
import { MessageView } from './message.view';
import { ChangesPage, StreamPage } from './message-stream';
import { MessageWriteBatcher } from './message-write-batcher';
import { MessageEditService } from './message-edit.service';
import { MessageQueryService } from './message-query.service';
import { MessageReceiptService, ReceiptView } from './message-receipt.service';
import { MessageSendService } from './message-send.service';
import type { SendReads } from './send-reads';

/**
 * Messages, one entry point for REST, the socket gateway and the CLI: each method hands over to the
 * service that owns it. Send (the group-commit write path): MessageSendService. Reads (history, sync,
 * replies, search): MessageQueryService. Edits, deletes, reactions: MessageEditService. Receipts:
 * MessageReceiptService. Every read and write first checks membership (cached, invalidated on
 * membership change) and answers 404 for a conversation the user is not in.
 */
@Injectable()
export class MessagesService {
  constructor(
    private readonly sender: MessageSendService,
    private readonly queries: MessageQueryService,
    private readonly edits: MessageEditService,
    private readonly receipts: MessageReceiptService,
  ) {}

  /** The group-commit queue (tests and the bench look at its depth). */
  get batcher(): MessageWriteBatcher {
    return this.sender.batcher;
  }

  send(senderId: string, conversationId: string, dto: SendMessageDto): Promise<{ message: MessageView; duplicate: boolean }> {
    return this.sender.send(senderId, conversationId, dto);
  }

  /** Starts a send's cached reads ahead of it (the socket gate; see MessageSendService.prepare and send-reads). */
  prepareSend(senderId: string, conversationId: string, dto: SendMessageDto): SendReads {
    return this.sender.prepare(senderId, conversationId, dto);
  }

  /** An accepted MLS commit into the seq stream (the MLS Delivery Service calls it; see MessageSendService). */
  appendHandshake(senderId: string, conversationId: string, content: MessageContent): Promise<MessageView> {
    return this.sender.appendHandshake(senderId, conversationId, content);
  }

  get(userId: string, conversationId: string, messageId: string): Promise<MessageView> {
    return this.queries.get(userId, conversationId, messageId);
  }

  history(userId: string, conversationId: string, q: { before_seq?: number; after_seq?: number; cursor?: string; limit?: number }): Promise<Page<MessageView>> {
    return this.queries.history(userId, conversationId, q);
  }

  sync(userId: string, conversationId: string, afterSeq: number, limit = 100): Promise<Page<MessageView>> {
    return this.queries.sync(userId, conversationId, afterSeq, limit);
  }

  syncStream(
    userId: string,
    conversationId: string,
    q: { after_seq: number; before_seq?: number; after_change?: number; limit?: number },
  ): Promise<StreamPage & Partial<ChangesPage>> {
    return this.queries.syncStream(userId, conversationId, q);
  }

  changes(userId: string, conversationId: string, q: { after_change?: number; up_to_seq?: number; limit?: number }): Promise<ChangesPage> {
    return this.queries.changes(userId, conversationId, q);
  }

  replies(userId: string, conversationId: string, parentId: string, q: { after_seq?: number; cursor?: string; limit?: number }): Promise<Page<MessageView>> {
    return this.queries.replies(userId, conversationId, parentId, q);
  }

  search(userId: string, conversationId: string, q: { tokens?: string[]; token_sets?: Array<{ tokens: string[] }>; before_seq?: number; cursor?: string; limit?: number }): Promise<Page<MessageView>> {
    return this.queries.search(userId, conversationId, q);
  }

  edit(userId: string, conversationId: string, messageId: string, dto: EditMessageDto): Promise<MessageView> {
    return this.edits.edit(userId, conversationId, messageId, dto);
  }

  remove(userId: string, conversationId: string, messageId: string): Promise<MessageView> {
    return this.edits.remove(userId, conversationId, messageId);
  }

  /** Delete by the tenant's moderation (libs/reports): no membership check; same tombstone and events. */
  removeByModerator(conversationId: string, messageId: string): Promise<MessageView> {
    return this.edits.removeByModerator(conversationId, messageId);
  }

  addReaction(userId: string, conversationId: string, messageId: string, emoji: string): Promise<MessageView> {
    return this.edits.addReaction(userId, conversationId, messageId, emoji);
  }

  removeReaction(userId: string, conversationId: string, messageId: string, emoji: string): Promise<MessageView> {
    return this.edits.removeReaction(userId, conversationId, messageId, emoji);
  }

  markRead(userId: string, conversationId: string, seq: number): Promise<ReceiptView> {
    return this.receipts.markRead(userId, conversationId, seq);
  }

  markDelivered(userId: string, conversationId: string, seq: number): Promise<ReceiptView> {
    return this.receipts.markDelivered(userId, conversationId, seq);
  }
}
