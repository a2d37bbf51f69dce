import { Injectable } from '@nestjs/common';
import { Clock } from '@chat/clock';
import { AppConfig } from '@chat/config';
import { AppError } from '@chat/errors';
import { KeySharesService } from '@chat/keys';
import { ConversationSeqs } from '../conversations/conversation-seqs';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { ConversationsService } from '../conversations/conversations.service';
import { Page } from '../users/pagination';
import { MessageView, toMessageView } from './message.view';
import { ChangesPage, MessageStream, StreamPage } from './message-stream';
import { dedupe, viewerOf } from './message-rules';
import { MessagesRepository } from './messages.repository';
import { RECENT_MESSAGES, RecentMessagesCache } from './recent-messages';

const DEFAULT_PAGE = 50;

/**
 * Reading messages: one message, history by seq (the newest page cached), sync streams with holes and
 * changes, thread replies and blind-index search. Every read first checks membership and answers 404
 * for a conversation the user is not in, exactly like one that does not exist.
 */
@Injectable()
export class MessageQueryService {
  private readonly stream: MessageStream;

  constructor(
    private readonly repo: MessagesRepository,
    private readonly conversations: ConversationsService,
    conversationsRepo: ConversationsRepository,
    seqs: ConversationSeqs,
    private readonly recentCache: RecentMessagesCache,
    config: AppConfig,
    keyShares: KeySharesService,
    clock: Clock,
  ) {
    this.stream = new MessageStream(
      repo,
      config.MESSAGE_GAP_GRACE_MS,
      async (conversationId, lastSeq) => {
        await this.recentCache.changed(conversationId);
        // Seqs the counter handed out and a reader filled: last_seq must cover them once the counter is gone.
        await conversationsRepo.raiseLastSeq(conversationId, lastSeq).catch(() => undefined);
      },
      (conversationId, userId, ids, v2Ids) => keyShares.sharedMessageIds(conversationId, userId, ids, v2Ids),
      (conversationId) => seqs.end(conversationId),
      clock,
    );
  }

  async get(userId: string, conversationId: string, messageId: string): Promise<MessageView> {
    const conv = await this.conversations.requireMember(conversationId, userId);
    const m = await this.repo.findInConversation(conversationId, messageId);
    if (!m) throw AppError.notFound('Message');
    const [view] = await this.stream.visible(conversationId, [toMessageView(m)], viewerOf(conv, userId));
    if (!view) throw AppError.notFound('Message');
    return view;
  }

  /**
   * History by seq, served by the {conversation_id, seq} index. Default and `before_seq`: newest first,
   * next_cursor continues older. `after_seq`: oldest first (catch-up), next_cursor continues newer.
   * Messages sent while the reader was not a member are left out (see hiddenFrom).
   */
  async history(
    userId: string,
    conversationId: string,
    q: { before_seq?: number; after_seq?: number; cursor?: string; limit?: number },
  ): Promise<Page<MessageView>> {
    const conv = await this.conversations.requireMember(conversationId, userId);
    const viewer = viewerOf(conv, userId);
    const limit = q.limit ?? DEFAULT_PAGE;
    let { before_seq: beforeSeq, after_seq: afterSeq } = q;
    if (q.cursor) {
      const n = Number(q.cursor.slice(1));
      if (q.cursor[0] === 'a') afterSeq = n;
      else beforeSeq = n;
    }
    if (afterSeq !== undefined && beforeSeq === undefined) {
      const page = await this.stream.range(conversationId, viewer, afterSeq, undefined, limit);
      return { data: page.messages, next_cursor: page.has_more ? `a${page.next_after_seq}` : null };
    }
    const visible = async (p: Page<MessageView>): Promise<Page<MessageView>> => ({ data: await this.stream.visible(conversationId, p.data, viewer), next_cursor: p.next_cursor });
    if (afterSeq === undefined) {
      // Newest first: served from the cached newest page when it holds the whole answer.
      const recent = await this.recentCache.recent(conversationId);
      const rows = beforeSeq === undefined ? recent : recent.filter((m) => m.seq < beforeSeq);
      if (rows.length >= limit || recent.length < RECENT_MESSAGES) return visible(this.newestFirst(rows.slice(0, limit), limit));
    }
    const rows = await this.repo.page(conversationId, { beforeSeq, afterSeq, limit });
    const data = rows.map(toMessageView);
    if (afterSeq !== undefined) {
      return visible({ data, next_cursor: rows.length === limit ? `a${rows[rows.length - 1]!.seq}` : null });
    }
    return visible(this.newestFirst(data, limit));
  }

  private newestFirst(data: MessageView[], limit: number): Page<MessageView> {
    const lowest = data[data.length - 1]?.seq;
    return { data, next_cursor: data.length === limit && lowest !== undefined && lowest > 1 ? `b${lowest}` : null };
  }

  /** Reconnect sync as a page: the messages after `afterSeq`, oldest first (see syncStream). */
  async sync(userId: string, conversationId: string, afterSeq: number, limit = 100): Promise<Page<MessageView>> {
    const page = await this.syncStream(userId, conversationId, { after_seq: afterSeq, limit });
    return { data: page.messages, next_cursor: page.has_more ? `a${page.next_after_seq}` : null };
  }

  /**
   * One conversation of a `sync`: every seq after `after_seq` (below `before_seq` when given) answered
   * with its message, a gap tombstone or an explicit hole (see MessageStream.range); with `after_change`,
   * also the messages up to `after_seq` changed since that position.
   */
  async syncStream(
    userId: string,
    conversationId: string,
    q: { after_seq: number; before_seq?: number; after_change?: number; limit?: number },
  ): Promise<StreamPage & Partial<ChangesPage>> {
    const conv = await this.conversations.requireMember(conversationId, userId);
    const viewer = viewerOf(conv, userId);
    const limit = Math.min(Math.max(1, Math.floor(q.limit ?? 100)), 100);
    const afterSeq = Math.max(0, Math.floor(q.after_seq));
    const end = await this.stream.end(conversationId);
    const page = await this.stream.range(conversationId, viewer, afterSeq, q.before_seq, limit, true, end);
    if (q.after_change === undefined) return page;
    return { ...page, ...(await this.stream.changes(conversationId, viewer, Math.max(0, Math.floor(q.after_change)), afterSeq, limit, end?.last_change_seq ?? 0)) };
  }

  /** Messages (up to `up_to_seq`) changed after the change position `after_change`, in change order. */
  async changes(userId: string, conversationId: string, q: { after_change?: number; up_to_seq?: number; limit?: number }): Promise<ChangesPage> {
    const conv = await this.conversations.requireMember(conversationId, userId);
    return this.stream.changes(conversationId, viewerOf(conv, userId), q.after_change ?? 0, q.up_to_seq ?? Number.MAX_SAFE_INTEGER, q.limit ?? DEFAULT_PAGE);
  }

  async replies(userId: string, conversationId: string, parentId: string, q: { after_seq?: number; cursor?: string; limit?: number }): Promise<Page<MessageView>> {
    await this.conversations.requireMember(conversationId, userId);
    const parent = await this.repo.findInConversation(conversationId, parentId);
    if (!parent) throw AppError.notFound('Message');
    const limit = q.limit ?? DEFAULT_PAGE;
    const after = q.cursor ? Number(q.cursor.slice(1)) : (q.after_seq ?? 0);
    const rows = await this.repo.replies(conversationId, String(parent._id), after, limit);
    return { data: rows.map(toMessageView), next_cursor: rows.length === limit ? `a${rows[rows.length - 1]!.seq}` : null };
  }

  /**
   * Blind-index search: messages carrying every token of `tokens`, or of one of `token_sets` (E2E v2:
   * the query under each epoch key), newest first.
   */
  async search(userId: string, conversationId: string, q: { tokens?: string[]; token_sets?: Array<{ tokens: string[] }>; before_seq?: number; cursor?: string; limit?: number }): Promise<Page<MessageView>> {
    if ((q.tokens === undefined) === (q.token_sets === undefined)) {
      throw AppError.validation([{ field: 'tokens', problems: ['exactly one of tokens and token_sets is required'] }]);
    }
    await this.conversations.requireMember(conversationId, userId);
    const limit = q.limit ?? 20;
    const before = q.cursor ? Number(q.cursor.slice(1)) : q.before_seq;
    const sets = q.tokens ? [q.tokens] : q.token_sets!.map((s) => s.tokens);
    const rows = await this.repo.search(conversationId, sets.map(dedupe), before, limit);
    return { data: rows.map(toMessageView), next_cursor: rows.length === limit ? `b${rows[rows.length - 1]!.seq}` : null };
  }
}
