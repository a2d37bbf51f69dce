import { Injectable } from '@nestjs/common';
import { CacheService } from '@chat/cache';
import { MessageView, toMessageView } from './message.view';
import { MessagesRepository } from './messages.repository';

/** How many of a conversation's newest messages are cached: what opening a conversation reads. */
export const RECENT_MESSAGES = 100;

/** Cache key of a conversation's newest messages; every write to its messages must invalidate it. */
export const recentMessagesCacheKey = (conversationId: string): string[] => ['messages', 'recent', conversationId];

/** The cached newest page of each conversation: read by history, dropped by every write to its messages. */
@Injectable()
export class RecentMessagesCache {
  constructor(
    private readonly repo: MessagesRepository,
    private readonly cache: CacheService,
  ) {}

  /** After any write to these conversations' messages: the cached newest page is dropped (race-free, see CacheService). */
  changed(...conversationIds: string[]): Promise<void> {
    return this.cache.del(...[...new Set(conversationIds)].map(recentMessagesCacheKey));
  }

  /** The newest RECENT_MESSAGES messages, newest first (fewer: that is the whole conversation). */
  recent(conversationId: string): Promise<MessageView[]> {
    return this.cache.getOrLoad(recentMessagesCacheKey(conversationId), this.cache.defaultTtlSeconds, async () =>
      (await this.repo.page(conversationId, { limit: RECENT_MESSAGES })).map(toMessageView),
    );
  }
}
