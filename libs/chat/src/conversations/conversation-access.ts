import { Injectable } from '@nestjs/common';
import { CacheService } from '@chat/cache';
import { AppError } from '@chat/errors';
import { TenantBatchLoader } from '@chat/tenancy';
import type { ConversationPolicy, SendPolicyCheck } from './conversation-policy';
import { ConversationsRepository } from './conversations.repository';
import { ConversationView, toConversationView } from './conversation.views';

/** Most conversation ids memberConversationIds returns (a socket joins at most this many rooms). */
export const MEMBER_CONVERSATION_IDS_MAX = 5000;
/** Most conversations one batched membership query reads before falling back to per-user queries. */
const MEMBER_IDS_BATCH_DOCS = 20_000;

/** Cache key of a conversation's membership view (dropped by every membership or details change). */
export const conversationCacheKey = (conversationId: string): string[] => ['conv', conversationId];

/** Cache key of the ids of the conversations a user is in (dropped by every membership change of that user). */
export const memberConversationIdsCacheKey = (userId: string): string[] => ['member-convs', userId];

/**
 * Who is in a conversation, read through the cache: what every message read and write checks first,
 * and what a socket joins at connect. Membership changes (ConversationMembershipService) drop these
 * entries right after their write, so a removed member is refused by the very next check on any node.
 */
@Injectable()
export class ConversationAccess {
  constructor(
    private readonly repo: ConversationsRepository,
    private readonly cache: CacheService,
  ) {}

  private policy: ConversationPolicy | null = null;

  /** Moderation registers itself here at start-up (libs/moderation); without it nothing is refused by it. */
  setPolicy(policy: ConversationPolicy | null): void {
    this.policy = policy;
  }

  /** The send path's one moderation call (muted, frozen, slow mode), shared by REST and socket sends. */
  async checkSendPolicy(conversation: ConversationView, senderId: string): Promise<void> {
    await this.startSendPolicy(conversation.id)(conversation, senderId);
  }

  /** checkSendPolicy in two steps (ConversationPolicy.startSend): its reads start now, the check runs later. */
  startSendPolicy(conversationId: string): SendPolicyCheck {
    return this.policy?.startSend(conversationId) ?? (async () => undefined);
  }

  /** Moderation's check of edits and new reactions (frozen, muted). */
  async checkWritePolicy(conversation: ConversationView, userId: string): Promise<void> {
    await this.policy?.checkWrite(conversation, userId);
  }

  /** Moderation's admission check (users banned from the conversation) where users join or are added. */
  async checkAdmission(conversationId: string, userIds: string[]): Promise<void> {
    await this.policy?.checkAdmission(conversationId, userIds);
  }

  /**
   * The cached membership view, or null for a missing / malformed / other-tenant id. Frozen and shared
   * (getOrLoadFrozen): every send reads it, and a 50-member view took ~100 µs to parse each time.
   * ConversationView is readonly to the type checker too; build a new object to change anything.
   */
  getView(conversationId: string): Promise<ConversationView | null> {
    if (!ConversationsRepository.isId(conversationId)) return Promise.resolve(null);
    return this.cache.getOrLoadFrozen(conversationCacheKey(conversationId), this.cache.defaultTtlSeconds, async (): Promise<ConversationView | null> => {
      const doc = await this.repo.findConversation(conversationId);
      return doc ? toConversationView(doc) : null;
    });
  }

  /** The conversation if `userId` is a member; 404 otherwise (existence is never revealed). */
  requireMember(conversationId: string, userId: string): Promise<ConversationView> {
    // One then, not an async function's two promises: every send checks this (AsyncLocalStorage's hooks run per promise).
    return this.getView(conversationId).then((view) => {
      if (!view || !view.participants.some((p) => p.user_id === userId)) throw AppError.notFound('Conversation');
      return view;
    });
  }

  async getMemberIds(conversationId: string): Promise<string[]> {
    const view = await this.getView(conversationId);
    if (!view) throw AppError.notFound('Conversation');
    return view.participants.map((p) => p.user_id);
  }

  /**
   * Ids of the conversations `userId` is in, in _id order, at most MEMBER_CONVERSATION_IDS_MAX: what a
   * socket joins at connect. Cached, since every (re)connect asks and the query is a scan on FerretDB;
   * every membership change drops the lists of the users it adds or removes. `fresh` reads the
   * database (a socket re-checking its rooms after a removal raced its join).
   */
  async memberConversationIds(userId: string, opts: { fresh?: boolean } = {}): Promise<string[]> {
    if (opts.fresh) return this.loadMemberConversationIds(userId);
    // Misses arriving together (a burst of first connects) are read with one query for all of them.
    return this.cache.getOrLoad(memberConversationIdsCacheKey(userId), this.cache.defaultTtlSeconds, async () => (await this.memberIdsLoader.get(userId)) ?? []);
  }

  private readonly memberIdsLoader = new TenantBatchLoader<string[]>(async (userIds) => {
    const all = await this.repo.idsForUsers(userIds, MEMBER_IDS_BATCH_DOCS);
    if (all) return new Map([...all].map(([u, ids]) => [u, ids.slice(0, MEMBER_CONVERSATION_IDS_MAX)]));
    // Too many conversations for one answer: each user on their own, paged.
    const out = new Map<string, string[]>();
    for (const u of userIds) out.set(u, await this.loadMemberConversationIds(u));
    return out;
  }, 200);

  private async loadMemberConversationIds(userId: string): Promise<string[]> {
    const ids: string[] = [];
    let afterId: string | undefined;
    while (ids.length < MEMBER_CONVERSATION_IDS_MAX) {
      const want = Math.min(500, MEMBER_CONVERSATION_IDS_MAX - ids.length);
      const page = await this.repo.idsForUser(userId, { afterId, limit: want });
      ids.push(...page);
      if (page.length < want) break;
      afterId = page[page.length - 1];
    }
    return ids;
  }
}
