import { Injectable } from '@nestjs/common';
import { CacheDropKeys, CacheService } from '@chat/cache';
import { Clock } from '@chat/clock';
import { AppConfig } from '@chat/config';
import { ConversationSeqs } from '../conversations/conversation-seqs';
import { MessageView, toMessageView } from './message.view';
import { MessagesRepository } from './messages.repository';

/** How many of a conversation's newest messages are cached: what opening a conversation reads. */
export const RECENT_MESSAGES = 100;

/** Cache key of a conversation's newest messages; every write to its messages must invalidate it. */
export const recentMessagesCacheKey = (conversationId: string): string[] => ['messages', 'recent', conversationId];

/**
 * A seq the page lacks that may still be being written: a hole below a message (or, for a page that is
 * the whole conversation, below its oldest) submitted within the gap grace period. Seqs are reserved
 * in order, so a later message stored first dates the hole (MessageStream ages holes the same way);
 * older holes are abandoned seqs readers fill, or messages retention purged.
 */
export function hasPendingHole(page: readonly MessageView[], whole: boolean, now: number, graceMs: number): boolean {
  const recent = (m: MessageView) => now - new Date(m.created_at).getTime() <= graceMs;
  for (let i = 0; i + 1 < page.length; i++) if (page[i]!.seq - page[i + 1]!.seq > 1 && recent(page[i]!)) return true;
  const oldest = page[page.length - 1];
  return whole && oldest !== undefined && oldest.seq > 1 && recent(oldest);
}

/**
 * The cached newest page of each conversation: read by history, dropped by every write to its messages.
 * A send's batch drops it in its seq reservation (one script, before the insert: dropKeys), so a page
 * is stored only if it reaches the conversation's highest reserved seq (the seq counter's `seq`): a
 * loader that read the database before the batch's insert landed loaded a page below it and leaves the
 * cache empty. Nor is a page with a pending hole stored (hasPendingHole): another writer (another node)
 * reserved a lower seq and stores it after the higher one, and its insert does not drop the page again.
 * Without a counter (expired, lost, no Redis) the page is stored as before, and a batch whose seqs came
 * from the database drops the page after its insert.
 */
@Injectable()
export class RecentMessagesCache {
  constructor(
    private readonly repo: MessagesRepository,
    private readonly cache: CacheService,
    private readonly seqs: ConversationSeqs,
    private readonly config: AppConfig,
    private readonly clock: Clock,
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
      counter ? { hashKey: counter, field: 'seq', reached: (page) => this.reached(page) } : undefined,
    );
  }

  /** The seq the page covers up to; -1 (never enough) while it lacks a seq still being written. */
  private reached(page: readonly MessageView[]): number {
    if (hasPendingHole(page, page.length < RECENT_MESSAGES, this.clock.now(), this.config.MESSAGE_GAP_GRACE_MS)) return -1;
    return page[0]?.seq ?? 0;
  }
}
