import { Injectable, Logger } from '@nestjs/common';
import { TenantId } from '@chat/tenancy';
import { ChatEventBus } from '../events/chat-events';
import { ConversationsRepository } from '../conversations/conversations.repository';
import type { MessageRecord } from './message.schema';
import { toMessageView } from './message.view';
import { nextChange } from './message-rules';
import type { MessageCommitStep } from './message-batch-contract';
import { MessagesRepository } from './messages.repository';
import { RecentMessagesCache } from './recent-messages';
import { isHandshake } from './e2e-v2';
import { LastMessageWriter } from './last-message-writer';

/**
 * The one step that follows a stored batch of one conversation, before its senders are answered: the
 * thread reply counters (and the cached page they change), then the events. The conversation's
 * last_message is only scheduled here (LastMessageWriter: written after the ack, reads on this node
 * wait for it). The messages are durable whatever happens here: their events go out even when a reply
 * counter fails, or members would not get them live.
 */
@Injectable()
export class MessageCommitEffects implements MessageCommitStep {
  private readonly logger = new Logger('MessageCommitEffects');

  constructor(
    private readonly conversations: ConversationsRepository,
    private readonly messages: MessagesRepository,
    private readonly recentCache: RecentMessagesCache,
    private readonly events: ChatEventBus,
    private readonly lastMessages: LastMessageWriter,
  ) {}

  async commit(tenantId: TenantId, conversationId: string, committed: MessageRecord[]): Promise<void> {
    const sorted = [...committed].sort((a, b) => a.seq - b.seq);
    // MLS commits travel in the stream but are not what a conversation list shows as its last message.
    const last = sorted.filter((m) => !isHandshake(m.content)).pop();
    // Started first, so it overlaps with what follows; the ack does not wait for it. The batch's highest seq moves the durable
    // high-water mark (last_seq) in the same update (ConversationSeqs).
    const lastSeq = sorted[sorted.length - 1]?.seq;
    if (lastSeq !== undefined) {
      // Exactly as stored (the write is not cast, ConversationsRepository.writeLastMessages): the schema's
      // field order, and a missing preview as the schema's default, null.
      const lastMessage = last ? { content_preview: last.preview ?? null, sender_id: last.sender_id, sent_at: last.created_at, seq: last.seq, message_id: String(last._id) } : null;
      this.lastMessages.write(tenantId, conversationId, lastMessage, lastSeq);
    }
    const replyCounts = new Map<string, number>();
    for (const m of sorted) if (m.thread.parent_id) replyCounts.set(m.thread.parent_id, (replyCounts.get(m.thread.parent_id) ?? 0) + 1);
    // Only batches with replies wait here: a thread root's new count goes out (message.updated) with the replies.
    // (Without replies, no promise at all: on Node 20 each runs AsyncLocalStorage's hooks.)
    const parents = replyCounts.size
      ? await Promise.allSettled(
          [...replyCounts].map(async ([parentId, n]) => this.messages.incReplyCount(conversationId, parentId, n, new Date(), await nextChange(this.conversations, conversationId))),
        )
      : [];
    if (replyCounts.size) await this.recentCache.changed(conversationId).catch(() => undefined);
    for (const m of sorted) this.events.emit('message.created', { tenantId, conversationId, message: asRecord(toMessageView(m)) });
    for (const p of parents) {
      if (p.status === 'fulfilled' && p.value) this.events.emit('message.updated', { tenantId, conversationId, message: asRecord(toMessageView(p.value)) });
      // Not retried: an $inc whose answer was lost may have been applied (a retry could count twice).
      else if (p.status === 'rejected') this.logger.error(`reply count of a thread in conversation ${conversationId} not updated: ${(p.reason as Error)?.message}`);
    }
  }

  /** At shutdown, after the batcher's drain: waits (bounded) for the last_message writes still pending. */
  drain(timeoutMs: number): Promise<void> {
    return this.lastMessages.drain(timeoutMs);
  }
}

const asRecord = (v: unknown) => v as Record<string, unknown>;
