import { Injectable, Logger } from '@nestjs/common';
import type { CacheDropKeys } from '@chat/cache';
import { RedisService } from '@chat/redis';
import { TenantContext } from '@chat/tenancy';
import { ConversationsRepository } from './conversations.repository';
import { SeqCounter } from './seq-counter';

/** Where a conversation's stream ends: highest reserved seq, when it was last reserved, last change position. */
export interface ConversationStreamEnd {
  last_seq: number;
  last_reserved_at: Date | null;
  last_change_seq: number;
}

/** The conversation's highest stored message seq, gap tombstones included (0: none); from the messages repository. */
export type StoredMaxSeq = () => Promise<number>;

/**
 * Seq reservation and the end of a conversation's stream (docs/life-of-a-message.md, step 4).
 *
 * Seqs are handed out by a counter per conversation (SeqCounter: Redis, or in process without it),
 * not by the conversation document: on FerretDB that `$inc` was a locked read-modify-write, one of the
 * three database round trips of a send's ack. The database stays the durable high-water mark: the
 * commit step moves `last_seq` forward with `$max` (ConversationsRepository.setLastMessage), and a
 * missing counter (expired, Redis lost it) is seeded from max(last_seq, highest stored seq). A seed can
 * be behind seqs still in flight when the counter was lost: such a seq is handed out twice, the unique
 * (conversation, seq) index rejects the second message and the batcher retries it with a fresh seq
 * after `raiseAbove` (MessageWriteBatcher). When Redis fails, seqs come from the database as before
 * (`$inc` of last_seq under the document lock); the same index and retry cover the mix of both.
 */
@Injectable()
export class ConversationSeqs {
  private readonly logger = new Logger('ConversationSeqs');
  private readonly counter: SeqCounter;
  private lastFallbackLog = 0;

  constructor(
    private readonly conversations: ConversationsRepository,
    redis: RedisService,
  ) {
    this.counter = new SeqCounter(redis);
  }

  private tenant(): string {
    return TenantContext.requireTenantId('conversation-seqs');
  }

  /**
   * Reserves `count` consecutive seqs; `first` is the first. Null when the conversation does not exist.
   * With `drop` (a cache entry's keys, CacheService.dropKeys) that entry is dropped by the counter's
   * script in the same round trip: `dropped` says it was. Not dropped (the caller drops it after its
   * write) when the seqs came from the database.
   */
  async reserve(conversationId: string, count: number, storedMax: StoredMaxSeq, drop?: CacheDropKeys): Promise<{ first: number; dropped: boolean } | null> {
    if (!ConversationsRepository.isId(conversationId)) return null;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`reserve: count must be a positive integer, got ${count}`);
    const tenantId = this.tenant();
    // Wall time, like the messages' created_at and MessageStream's hole ages it is compared with.
    const at = Date.now();
    // Only the counter's failures fall back to the database; a failing database read fails the reservation.
    const fallback = async (err: unknown) => {
      this.fellBack(err);
      const first = await this.conversations.reserveSeqs(conversationId, count);
      return first === null ? null : { first, dropped: false };
    };
    let last: number | null;
    try {
      last = await this.counter.reserve(tenantId, conversationId, count, at, undefined, drop);
    } catch (err) {
      return fallback(err);
    }
    if (last === null) {
      const seed = await this.seed(conversationId, storedMax);
      if (seed === null) return null;
      try {
        last = await this.counter.reserve(tenantId, conversationId, count, at, seed, drop);
      } catch (err) {
        return fallback(err);
      }
    }
    return { first: last! - count + 1, dropped: drop !== undefined && this.counter.shared };
  }

  /** The Redis key of the conversation's counter (a hash, field `seq`); null without Redis. */
  counterKey(conversationId: string): string | null {
    return this.counter.shared ? this.counter.key(this.tenant(), conversationId) : null;
  }

  /**
   * Moves the counter above every stored seq: after a reserved seq turned out to be taken already (a
   * counter seeded while seqs were in flight, a mix with the database path during a Redis failure).
   * Raises the database's last_seq too when the counter cannot be reached (the next seqs come from it).
   */
  async raiseAbove(conversationId: string, storedMax: StoredMaxSeq): Promise<void> {
    const seed = await this.seed(conversationId, storedMax);
    if (seed === null) return;
    try {
      await this.counter.raise(this.tenant(), conversationId, seed, Date.now());
    } catch (err) {
      this.fellBack(err);
      await this.conversations.raiseLastSeq(conversationId, seed);
    }
  }

  /**
   * The end of the stream for readers: the counter's seq and time when it is ahead of the document
   * (seqs reserved and not yet committed), else the document's; last_change_seq always from the
   * document. Without a counter (expired, lost, Redis failing) the document's: readers never seed one
   * (that needs a message query, and most reads of a reconnect storm are of idle conversations);
   * every stored seq is in last_seq once its batch committed. Null: no such conversation.
   */
  async end(conversationId: string): Promise<ConversationStreamEnd | null> {
    const [doc, count] = await Promise.all([this.conversations.streamEnd(conversationId), this.counter.peek(this.tenant(), conversationId).catch(() => null)]);
    if (!doc) return null;
    return count && count.seq > doc.last_seq ? { ...doc, last_seq: count.seq, last_reserved_at: new Date(count.at) } : doc;
  }

  /**
   * The highest seq the counter has handed out (0 without a counter or when Redis fails): callers take the
   * max with the document's `last_seq` (read positions are capped by it, new members' joined_seq counts
   * from it).
   */
  async counterSeq(conversationId: string): Promise<number> {
    const count = await this.counter.peek(this.tenant(), conversationId).catch(() => null);
    return count?.seq ?? 0;
  }

  /** Documents with the counter merged into their `last_seq` (max of the two), in one round trip. */
  async withLastSeqs<T extends { _id: unknown; last_seq: number }>(docs: T[]): Promise<T[]> {
    if (!docs.length) return docs;
    const counts = await this.counter.peekMany(this.tenant(), docs.map((d) => String(d._id))).catch(() => null);
    if (!counts) return docs;
    return docs.map((d, i) => ((counts[i]?.seq ?? 0) > (d.last_seq ?? 0) ? { ...d, last_seq: counts[i]!.seq } : d));
  }

  /** max(last_seq, highest stored seq); null when the conversation does not exist. */
  private async seed(conversationId: string, storedMax: StoredMaxSeq): Promise<number | null> {
    const [doc, stored] = await Promise.all([this.conversations.streamEnd(conversationId), storedMax()]);
    return doc ? Math.max(doc.last_seq, stored) : null;
  }

  private fellBack(err: unknown): void {
    // At most one line a second: every batch of an outage comes here.
    const now = Date.now();
    if (now - this.lastFallbackLog < 1000) return;
    this.lastFallbackLog = now;
    this.logger.warn(`seq counter unavailable (${(err as Error)?.message ?? String(err)}): reserving seqs in the database`);
  }
}
