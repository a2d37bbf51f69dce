import { Injectable } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { AppError } from '@chat/errors';
import { RedisService } from '@chat/redis';
import { TenantContext } from '@chat/tenancy';
import { ConversationSeqs } from '../conversations/conversation-seqs';
import type { ClientMsgKey } from './message-id';
import type { MessageRecord } from './message.schema';
import type { MessageBatchStore } from './message-batch-contract';
import { InsertOutcome, MessagesRepository, NewMessage } from './messages.repository';
import { RecentMessagesCache } from './recent-messages';
import { SendClaims } from './send-claims';

/**
 * What the group-commit batcher writes through: seq reservation (ConversationSeqs), the batch insert,
 * gap tombstones, retry look-ups and the Redis send claims. Every write to messages also drops the
 * conversation's cached newest page, after the write, so the cache never outlives what it shows; a
 * batch's insert has it dropped by its seq reservation instead (RecentMessagesCache).
 * Every call runs inside the batch's TenantContext.
 */
@Injectable()
export class MessageStore implements MessageBatchStore {
  private readonly sendClaims: SendClaims;
  /**
   * Conversations (tenant, id) whose cached newest page their seq reservations dropped (in the script),
   * with when each batch not stored yet reserved (performance.now(), oldest first; a conversation has
   * at most a few batches in flight): their insert does not drop it again, unless it lands later than
   * the gap grace period after the oldest of them. Until then a page that lacks the batch's seqs is not stored
   * (RecentMessagesCache: below the reserved seq, or with a pending hole); after it, a reader may take
   * the missing seq for abandoned and store such a page. A reservation whose seqs came from the
   * database (not dropped) forgets the entry: every insert then drops the page after it.
   */
  private readonly droppedAtReserve = new Map<string, number[]>();

  constructor(
    private readonly messages: MessagesRepository,
    private readonly seqs: ConversationSeqs,
    private readonly recentCache: RecentMessagesCache,
    redis: RedisService,
    private readonly config: AppConfig,
  ) {
    this.sendClaims = new SendClaims(redis);
  }

  async reserveSeqs(conversationId: string, count: number): Promise<number> {
    const drop = this.recentCache.dropKeys(conversationId) ?? undefined;
    const r = await this.seqs.reserve(conversationId, count, () => this.messages.maxSeq(conversationId), drop);
    if (r === null) throw AppError.notFound('Conversation');
    const k = this.pageKey(conversationId);
    const reservedAt = this.droppedAtReserve.get(k);
    if (!r.dropped) this.droppedAtReserve.delete(k);
    else if (reservedAt) reservedAt.push(performance.now());
    else this.droppedAtReserve.set(k, [performance.now()]);
    return r.first;
  }

  private pageKey(conversationId: string): string {
    return `${TenantContext.requireTenantId('messages')}\u0000${conversationId}`;
  }

  raiseSeqsAbove(conversationId: string): Promise<void> {
    return this.seqs.raiseAbove(conversationId, () => this.messages.maxSeq(conversationId));
  }

  async insertBatch(docs: NewMessage[]): Promise<InsertOutcome[]> {
    try {
      return await this.messages.insertBatch(docs);
    } finally {
      // Dropped by the reservation unless its seqs came from the database (RecentMessagesCache).
      const late = performance.now() - this.config.MESSAGE_GAP_GRACE_MS;
      const left = [...new Set(docs.map((d) => d.conversation_id))].filter((c) => {
        const k = this.pageKey(c);
        const reservedAt = this.droppedAtReserve.get(k);
        if (!reservedAt) return true;
        const oldest = reservedAt.shift()!;
        if (!reservedAt.length) this.droppedAtReserve.delete(k);
        return oldest < late;
      });
      if (left.length) await this.recentCache.changed(...left);
    }
  }

  findByClientMsgIds(keys: ClientMsgKey[]): Promise<MessageRecord[]> {
    return this.messages.findByClientMsgIds(keys);
  }

  findByClientMsgFields(keys: ClientMsgKey[]): Promise<MessageRecord[]> {
    return this.messages.findByClientMsgFields(keys);
  }

  claimFirstSends(messageIds: string[]): Promise<boolean[] | null> {
    return this.sendClaims.claim(TenantContext.requireTenantId('messages'), messageIds);
  }

  async insertGap(conversationId: string, seq: number, senderId: string, now: Date): Promise<boolean> {
    try {
      return await this.messages.insertGap(conversationId, seq, senderId, now);
    } finally {
      await this.recentCache.changed(conversationId);
    }
  }
}
