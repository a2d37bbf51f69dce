import { Injectable } from '@nestjs/common';
import { CacheDropKeys, CacheService } from '@chat/cache';
import { ConversationSeqs } from '../conversations/conversation-seqs';
import { MessageView, toMessageView } from './message.view';
import { MessagesRepository } from './messages.repository';

/** How many of a conversation's newest messages are cached: what opening a conversation reads. */
export const RECENT_MESSAGES = 100;

/** Cache key of a conversation's newest messages; every write to its messages must invalidate it. */
export const recentMessagesCacheKey = (conversationId: string): string[] => ['messages', 'recent', conversationId];

/**
 * The cached newest page of each conversation: read by history, dropped by every write to its messages.
 * A send's batch drops it in its seq reservation (one script, before the insert: dropKeys), so a page
 * is stored only if it reaches the conversation's highest reserved seq (the seq counter's `seq`): a
 * loader that read the database before the batch's insert landed loaded a page below it and leaves the
 * cache empty. Without a counter (expired, lost, no Redis) the page is stored as before, and a batch
 * whose seqs came from the database drops the page after its insert.
 */
@Injectable()
export class RecentMessagesCache {
  constructor(
    private readonly repo: MessagesRepository,
    private readonly cache: CacheService,
    private readonly seqs: ConversationSeqs,
  ) {}

  /** The page's cache keys for the seq reservation's script (null without Redis: drop it with `changed`). */
  dropKeys(conversationId: string): CacheDropKeys | null {
    return this.cache.dropKeys(recentMessagesCacheKey(conversationId));
  }

  /** After any write to these conversations' messages: the cached newest page is dropped (race-free, see CacheService). */
  changed(...conversationIds: string[]): Promise<void> {
    return this.cache.del(...[...new Set(conversationIds)].map(recentMessagesCacheKey));
  }

  /** The newest RECENT_MESSAGES messages, newest first (fewer: that is the whole conversation). */
  recent(conversationId: string): Promise<MessageView[]> {
    const counter = this.seqs.counterKey(conversationId);
    return this.cache.getOrLoad(
      recentMessagesCacheKey(conversationId),
      this.cache.defaultTtlSeconds,
      async () => (await this.repo.page(conversationId, { limit: RECENT_MESSAGES })).map(toMessageView),
      counter ? { hashKey: counter, field: 'seq', reached: (page) => page[0]?.seq ?? 0 } : undefined,
    );
  }
}
