import { Injectable, Logger } from '@nestjs/common';
import { TenantId } from '@chat/tenancy';
import { ChatEventBus } from '../events/chat-events';
import { ConversationsRepository } from '../conversations/conversations.repository';
import type { MessageRecord } from './message.schema';
import { toMessageView } from './message.view';
import { nextChange } from './message-rules';
import type { MessageCommitStep } from './message-write-batcher';
import { MessagesRepository } from './messages.repository';
import { RecentMessagesCache } from './recent-messages';
import { isHandshake } from './e2e-v2';

/** Retries of a failed commit effect (last_message), apart from the send: 0.2 s doubling, ~50 s in all. */
const FOLLOW_UP_RETRIES = 8;
const FOLLOW_UP_FIRST_DELAY_MS = 200;

/**
 * The one step that follows a stored batch of one conversation, before its senders are answered:
 * last_message, thread reply counters (and the cached page they change), then the events. The
 * messages are durable whatever happens here: their events go out even when a follow-up write fails
 * (last_message is then retried apart), or members would not get them live.
 */
@Injectable()
export class MessageCommitEffects implements MessageCommitStep {
  private readonly logger = new Logger('MessageCommitEffects');

  constructor(
    private readonly conversations: ConversationsRepository,
    private readonly messages: MessagesRepository,
    private readonly recentCache: RecentMessagesCache,
    private readonly events: ChatEventBus,
  ) {}

  async commit(tenantId: TenantId, conversationId: string, committed: MessageRecord[]): Promise<void> {
    const sorted = [...committed].sort((a, b) => a.seq - b.seq);
    // MLS commits travel in the stream but are not what a conversation list shows as its last message.
    const last = sorted.filter((m) => !isHandshake(m.content)).pop();
    const replyCounts = new Map<string, number>();
    for (const m of sorted) if (m.thread.parent_id) replyCounts.set(m.thread.parent_id, (replyCounts.get(m.thread.parent_id) ?? 0) + 1);
    // The batch's highest seq moves the durable high-water mark (last_seq) in the same update (ConversationSeqs).
    const lastSeq = sorted[sorted.length - 1]?.seq;
    const setLastMessage = async () => {
      if (!last) {
        if (lastSeq !== undefined) await this.conversations.raiseLastSeq(conversationId, lastSeq);
        return;
      }
      await this.conversations.setLastMessage(
        conversationId,
        { content_preview: last.preview, sender_id: last.sender_id, sent_at: last.created_at, seq: last.seq, message_id: String(last._id) },
        last.created_at,
        lastSeq,
      );
    };
    const [lastMessage, ...parents] = await Promise.allSettled([
      setLastMessage(),
      ...[...replyCounts].map(async ([parentId, n]) => this.messages.incReplyCount(conversationId, parentId, n, new Date(), await nextChange(this.conversations, conversationId))),
    ]);
    if (replyCounts.size) await this.recentCache.changed(conversationId).catch(() => undefined);
    for (const m of sorted) this.events.emit('message.created', { tenantId, conversationId, message: asRecord(toMessageView(m)) });
    if (lastMessage.status === 'rejected') this.retryApart(`last_message of conversation ${conversationId}`, lastMessage.reason, setLastMessage);
    for (const p of parents) {
      if (p.status === 'fulfilled' && p.value) this.events.emit('message.updated', { tenantId, conversationId, message: asRecord(toMessageView(p.value)) });
      // Not retried: an $inc whose answer was lost may have been applied (a retry could count twice).
      else if (p.status === 'rejected') this.logger.error(`reply count of a thread in conversation ${conversationId} not updated: ${(p.reason as Error)?.message}`);
    }
  }

  /** Runs an idempotent follow-up write again in the background (timers keep the tenant context) until it succeeds. */
  private retryApart(what: string, error: unknown, step: () => Promise<unknown>, attempt = 1): void {
    if (attempt > FOLLOW_UP_RETRIES) {
      this.logger.error(`${what}: giving up after ${FOLLOW_UP_RETRIES} retries (${(error as Error)?.message ?? String(error)})`);
      return;
    }
    this.logger.warn(`${what} failed (${(error as Error)?.message ?? String(error)}); retry ${attempt}/${FOLLOW_UP_RETRIES}`);
    setTimeout(
      () => void step().catch((err: unknown) => this.retryApart(what, err, step, attempt + 1)),
      FOLLOW_UP_FIRST_DELAY_MS * 2 ** (attempt - 1),
    ).unref();
  }
}

const asRecord = (v: unknown) => v as Record<string, unknown>;
