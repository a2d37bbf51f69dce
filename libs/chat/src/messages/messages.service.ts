import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Inject, Injectable, Optional } from '@nestjs/common';
import { CacheService } from '@chat/cache';
import { AppConfig } from '@chat/config';
import { AppError, ErrorCode } from '@chat/errors';
import { KeyDirectoryService, KeySharesService } from '@chat/keys';
import { QuotaService } from '@chat/quotas';
import { RedisService } from '@chat/redis';
import { TenantContext, TenantId } from '@chat/tenancy';
import { ChatEventBus } from '../events/chat-events';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { ConversationsService } from '../conversations/conversations.service';
import { ConversationView } from '../conversations/conversation.views';
import { RelationshipsService } from '../relationships/relationships.service';
import { Page } from '../users/pagination';
import { EditMessageDto, EMOJI_PATTERN, SendMessageDto } from './message.dto';
import { MessageContent } from './message.schema';
import { MessageView, toMessageView } from './message.view';
import { ChangesPage, MessageStream, StreamPage, StreamViewer } from './message-stream';
import { MessageWriteBatcher, SendOutcome } from './message-write-batcher';
import { MessagePostCommit } from './message-post-commit';
import { MessagesRepository } from './messages.repository';
import { SendClaims } from './send-claims';
import { SendOrder } from './send-order';
import { checkV2Envelope, E2eV2Gate, isV2, plainContentV2 } from './e2e-v2';

export interface ReceiptView {
  conversation_id: string;
  user_id: string;
  last_read_seq?: number;
  last_delivered_seq: number;
}

const DEFAULT_PAGE = 50;

/** How many of a conversation's newest messages are cached: what opening a conversation reads. */
export const RECENT_MESSAGES = 100;

/** Cache key of a conversation's newest messages; every write to its messages must invalidate it. */
export const recentMessagesCacheKey = (conversationId: string): string[] => ['messages', 'recent', conversationId];

const reactionKey = (userId: string, emoji: string) => `${userId.length}:${userId}:${emoji}`;

/** Checked here too, not only by the REST param check: the socket gateway calls the service directly. */
function checkEmoji(emoji: string): void {
  if (typeof emoji !== 'string' || !EMOJI_PATTERN.test(emoji)) {
    throw AppError.validation([{ field: 'emoji', problems: ['must be 1-64 characters without spaces or slashes'] }]);
  }
}
const asRecord = (v: MessageView) => v as unknown as Record<string, unknown>;

/**
 * Messages: the one write path used by REST and the socket gateway (send goes through the group-commit
 * batcher), edits, tombstone deletes, threads, reactions, receipts, history/sync by seq and blind-index
 * search. Every read and write first checks membership (cached, invalidated on membership change) and
 * answers 404 for a conversation the user is not in, exactly like one that does not exist.
 */
@Injectable()
export class MessagesService implements BeforeApplicationShutdown {
  readonly batcher: MessageWriteBatcher;
  private readonly stream: MessageStream;
  private readonly sendOrder = new SendOrder();
  private readonly sendClaims: SendClaims;

  constructor(
    private readonly repo: MessagesRepository,
    private readonly conversations: ConversationsService,
    private readonly conversationsRepo: ConversationsRepository,
    private readonly relationships: RelationshipsService,
    private readonly events: ChatEventBus,
    private readonly config: AppConfig,
    // Per-device recipient rule (libs/keys): a wrapped key for every live device of every member.
    private readonly keyDirectory: KeyDirectoryService,
    private readonly cache: CacheService,
    redis: RedisService,
    keyShares: KeySharesService,
    // Optional so the chat lib also boots in apps that do not load quotas (CLI, unit wiring).
    @Optional() private readonly quotas?: QuotaService,
    // E2E v2 send check, bound by the MLS Delivery Service (libs/mls); absent: v2 is refused.
    @Optional() @Inject(E2eV2Gate) private readonly v2Gate?: E2eV2Gate,
  ) {
    this.sendClaims = new SendClaims(redis);
    const postCommit = new MessagePostCommit(conversationsRepo, repo, events, {
      changed: (conversationId) => this.changed(conversationId),
      nextChange: (conversationId) => this.nextChange(conversationId),
    });
    this.stream = new MessageStream(
      repo,
      config.MESSAGE_GAP_GRACE_MS,
      (conversationId) => this.changed(conversationId),
      (conversationId, userId, ids) => keyShares.sharedMessageIds(conversationId, userId, ids),
      (conversationId) => conversationsRepo.streamEnd(conversationId),
    );
    this.batcher = new MessageWriteBatcher(
      {
        reserveSeqs: async (conversationId, count) => {
          const first = await this.conversationsRepo.reserveSeqs(conversationId, count);
          if (first === null) throw AppError.notFound('Conversation');
          return first;
        },
        insertBatch: async (docs) => {
          try {
            return await this.repo.insertBatch(docs);
          } finally {
            await this.changed(...docs.map((d) => d.conversation_id));
          }
        },
        findByClientMsgIds: (keys) => this.repo.findByClientMsgIds(keys),
        claimFirstSends: (ids) => this.sendClaims.claim(this.tenant(), ids),
        findByClientMsgFields: (keys) => this.repo.findByClientMsgFields(keys),
        insertGap: async (conversationId, seq, senderId, now) => {
          try {
            return await this.repo.insertGap(conversationId, seq, senderId, now);
          } finally {
            await this.changed(conversationId);
          }
        },
      },
      {
        windowMs: config.MESSAGE_BATCH_WINDOW_MS,
        maxBatch: config.MESSAGE_BATCH_MAX,
        concurrency: config.MESSAGE_BATCH_CONCURRENCY,
        queueMax: config.MESSAGE_BATCH_QUEUE_MAX,
      },
      (tenantId, conversationId, committed) => postCommit.run(tenantId, conversationId, committed),
    );
  }

  /** Before connections close (onApplicationShutdown): queued sends are written and answered, new ones get 503. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.batcher.drain(this.config.SHUTDOWN_GRACE_MS || 10_000);
  }

  private tenant(): TenantId {
    return TenantContext.requireTenantId('messages');
  }

  /** After any write to these conversations' messages: the cached newest page is dropped (race-free, see CacheService). */
  private changed(...conversationIds: string[]): Promise<void> {
    return this.cache.del(...[...new Set(conversationIds)].map(recentMessagesCacheKey));
  }

  /** The newest RECENT_MESSAGES messages, newest first (fewer: that is the whole conversation). */
  private recent(conversationId: string): Promise<MessageView[]> {
    return this.cache.getOrLoad(recentMessagesCacheKey(conversationId), this.cache.defaultTtlSeconds, async () =>
      (await this.repo.page(conversationId, { limit: RECENT_MESSAGES })).map(toMessageView),
    );
  }

  // ---------------------------------------------------------------- send

  /**
   * Sends a message as `senderId`. Resolves once the message is durably stored with its seq; a repeated
   * client_msg_id resolves to the original message with duplicate=true.
   */
  async send(senderId: string, conversationId: string, dto: SendMessageDto): Promise<{ message: MessageView; duplicate: boolean }> {
    const tenantId = this.tenant();
    this.batcher.assertAccepting();
    const turn = this.sendOrder.enter(`${tenantId}\u0000${senderId}\u0000${conversationId}`);
    try {
      await turn.ready;
      const { stored } = await this.checkAndSubmit(tenantId, senderId, conversationId, dto);
      turn.release();
      const { message, duplicate } = await stored;
      return { message: toMessageView(message), duplicate };
    } finally {
      turn.release();
    }
  }

  /** Everything a send checks, then the (synchronous) queueing; the caller awaits the durable write. */
  private async checkAndSubmit(tenantId: TenantId, senderId: string, conversationId: string, dto: SendMessageDto): Promise<{ stored: Promise<SendOutcome> }> {
    const conv = await this.conversations.requireMember(conversationId, senderId);
    await this.checkDirectNotBlocked(conv, senderId);
    const memberIds = this.memberIdsOf(conv);
    this.checkEnvelope(dto.content, dto.search_tokens);
    await this.checkRecipients(conversationId, memberIds, dto.content);
    this.checkMentions(dto.mentions, memberIds);
    let parentId: string | null = null;
    if (dto.thread_parent_id) {
      const parent = await this.repo.findInConversation(conversationId, dto.thread_parent_id);
      if (!parent || parent.deleted_at) throw AppError.notFound('Parent message');
      if (parent.thread?.parent_id) {
        throw AppError.validation([{ field: 'thread_parent_id', problems: ['replies cannot have replies: reply to the thread root'] }]);
      }
      parentId = String(parent._id);
    }
    await this.quotas?.consumeMessages(tenantId, 1);
    const now = new Date();
    // Wrapped, so the caller gets the queued write without waiting for it (an awaited promise would be).
    const stored = this.batcher.submit(
      tenantId,
      {
        conversation_id: conversationId,
        sender_id: senderId,
        client_msg_id: dto.client_msg_id ?? randomUUID(),
        content: plainContent(dto.content),
        preview: dto.preview ?? null,
        search_tokens: dedupe(dto.search_tokens ?? []),
        mentions: dedupe(dto.mentions ?? []),
        reactions: [],
        thread: { parent_id: parentId, reply_count: 0 },
        read_by: [],
        status: 'sent',
        gap: false,
        created_at: now,
        updated_at: now,
        edited_at: null,
        deleted_at: null,
      },
      // Only a client-chosen id can be a retry; the batch looks all of them up with one query.
      { lookupExisting: dto.client_msg_id !== undefined },
    );
    return { stored };
  }

  /** A new change position of the conversation (see MessageStream.changes), taken before the message is written. */
  private async nextChange(conversationId: string): Promise<number> {
    const c = await this.conversationsRepo.nextChangeSeq(conversationId);
    if (c === null) throw AppError.notFound('Conversation');
    return c;
  }

  private viewerOf(conv: ConversationView, userId: string): StreamViewer {
    return { userId, joinedSeq: conv.participants.find((p) => p.user_id === userId)?.joined_seq ?? 0 };
  }

  private memberIdsOf(conv: ConversationView): string[] {
    return conv.participants.map((p) => p.user_id);
  }

  private async checkDirectNotBlocked(conv: ConversationView, senderId: string): Promise<void> {
    if (conv.type !== 'direct') return;
    for (const p of conv.participants) {
      if (p.user_id !== senderId && (await this.relationships.isBlocked(p.user_id, senderId))) {
        throw AppError.forbidden('This user does not accept your messages');
      }
    }
  }

  /**
   * Shape is checked by the DTO; here: total size. The wrapped key of every current member device is
   * checked by the key directory (one error shape for a missing device and a missing member).
   */
  private checkEnvelope(content: MessageContent, searchTokens: string[] | undefined): void {
    const bytes = Buffer.byteLength(JSON.stringify(content)) + (searchTokens ?? []).reduce((n, t) => n + t.length + 3, 0);
    if (bytes > this.config.MESSAGE_MAX_BYTES) {
      throw new AppError(ErrorCode.PayloadTooLarge, `Message is ${bytes} bytes; the limit is ${this.config.MESSAGE_MAX_BYTES}`, {
        size_bytes: bytes,
        max_bytes: this.config.MESSAGE_MAX_BYTES,
      });
    }
  }

  /** v1: a wrapped key for every member device (key directory); v2: the conversation's group at its current epoch (MLS Delivery Service). */
  private async checkRecipients(conversationId: string, memberIds: string[], content: MessageContent): Promise<void> {
    if (isV2(content)) return checkV2Envelope(this.v2Gate, { id: conversationId, memberIds }, content);
    await this.keyDirectory.assertRecipientKeys(memberIds, content.encrypted_key ?? []);
  }

  /**
   * A commit accepted by the MLS Delivery Service, written into the conversation's seq stream as the
   * committing member's message (no send checks: the Delivery Service made them), so sync and history
   * deliver commits and messages in one order. Resolves once it is stored.
   */
  async appendHandshake(senderId: string, conversationId: string, content: MessageContent): Promise<MessageView> {
    const tenantId = this.tenant();
    const now = new Date();
    const { message } = await this.batcher.submit(
      tenantId,
      {
        conversation_id: conversationId,
        sender_id: senderId,
        client_msg_id: randomUUID(),
        content,
        preview: null,
        search_tokens: [],
        mentions: [],
        reactions: [],
        thread: { parent_id: null, reply_count: 0 },
        read_by: [],
        status: 'sent',
        gap: false,
        created_at: now,
        updated_at: now,
        edited_at: null,
        deleted_at: null,
      },
      { lookupExisting: false },
    );
    return toMessageView(message);
  }

  private checkMentions(mentions: string[] | undefined, memberIds: string[]): void {
    if (!mentions?.length) return;
    const members = new Set(memberIds);
    const strangers = mentions.filter((m) => !members.has(m));
    if (strangers.length) throw AppError.validation([{ field: 'mentions', problems: [`not members of the conversation: ${strangers.join(', ')}`] }]);
  }

  // ---------------------------------------------------------------- reads

  async get(userId: string, conversationId: string, messageId: string): Promise<MessageView> {
    const conv = await this.conversations.requireMember(conversationId, userId);
    const m = await this.repo.findInConversation(conversationId, messageId);
    if (!m) throw AppError.notFound('Message');
    const [view] = await this.stream.visible(conversationId, [toMessageView(m)], this.viewerOf(conv, userId));
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
    const viewer = this.viewerOf(conv, userId);
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
      const recent = await this.recent(conversationId);
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
    const viewer = this.viewerOf(conv, userId);
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
    return this.stream.changes(conversationId, this.viewerOf(conv, userId), q.after_change ?? 0, q.up_to_seq ?? Number.MAX_SAFE_INTEGER, q.limit ?? DEFAULT_PAGE);
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

  /** Blind-index search: messages carrying every token, newest first. */
  async search(userId: string, conversationId: string, q: { tokens: string[]; before_seq?: number; cursor?: string; limit?: number }): Promise<Page<MessageView>> {
    await this.conversations.requireMember(conversationId, userId);
    const limit = q.limit ?? 20;
    const before = q.cursor ? Number(q.cursor.slice(1)) : q.before_seq;
    const rows = await this.repo.search(conversationId, dedupe(q.tokens), before, limit);
    return { data: rows.map(toMessageView), next_cursor: rows.length === limit ? `b${rows[rows.length - 1]!.seq}` : null };
  }

  // ---------------------------------------------------------------- edit, delete

  async edit(userId: string, conversationId: string, messageId: string, dto: EditMessageDto): Promise<MessageView> {
    const conv = await this.conversations.requireMember(conversationId, userId);
    const memberIds = this.memberIdsOf(conv);
    this.checkEnvelope(dto.content, dto.search_tokens);
    await this.checkRecipients(conversationId, memberIds, dto.content);
    this.checkMentions(dto.mentions, memberIds);
    const change = await this.nextChange(conversationId);
    const updated = await this.repo.edit(
      conversationId,
      messageId,
      userId,
      { content: plainContent(dto.content), preview: dto.preview ?? null, search_tokens: dedupe(dto.search_tokens ?? []), mentions: dedupe(dto.mentions ?? []) },
      // After taking the change position: updated_at then tells when the position is settled (MessageStream.changes).
      new Date(),
      change,
    );
    if (updated) await this.changed(conversationId);
    if (!updated) {
      const m = await this.repo.findInConversation(conversationId, messageId);
      if (!m) throw AppError.notFound('Message');
      if (m.sender_id !== userId) throw AppError.forbidden('Only the sender can edit a message');
      throw AppError.conflict('The message was deleted');
    }
    const view = toMessageView(updated);
    this.events.emit('message.updated', { tenantId: this.tenant(), conversationId, message: asRecord(view) });
    return view;
  }

  /** Soft delete by the sender, or by an owner/admin of a group or channel. Idempotent: returns the tombstone. */
  async remove(userId: string, conversationId: string, messageId: string): Promise<MessageView> {
    const conv = await this.conversations.requireMember(conversationId, userId);
    const m = await this.repo.findInConversation(conversationId, messageId);
    if (!m) throw AppError.notFound('Message');
    if (m.sender_id !== userId) {
      const role = conv.participants.find((p) => p.user_id === userId)?.role;
      if (conv.type === 'direct' || (role !== 'owner' && role !== 'admin')) {
        throw AppError.forbidden('Only the sender or a conversation admin can delete this message');
      }
    }
    if (m.deleted_at) return toMessageView(m);
    const change = await this.nextChange(conversationId);
    const now = new Date();
    const deleted = await this.repo.softDelete(conversationId, messageId, now, change);
    if (deleted) await this.changed(conversationId);
    if (!deleted) {
      const current = await this.repo.findInConversation(conversationId, messageId);
      if (!current) throw AppError.notFound('Message');
      return toMessageView(current); // deleted concurrently
    }
    const tenantId = this.tenant();
    this.events.emit('message.deleted', { tenantId, conversationId, messageId: String(deleted._id), seq: deleted.seq, deleted_at: now.toISOString() });
    if (deleted.thread?.parent_id) {
      const parent = await this.repo.incReplyCount(conversationId, deleted.thread.parent_id, -1, new Date(), await this.nextChange(conversationId));
      await this.changed(conversationId);
      if (parent) this.events.emit('message.updated', { tenantId, conversationId, message: asRecord(toMessageView(parent)) });
    }
    return toMessageView(deleted);
  }

  // ---------------------------------------------------------------- reactions

  async addReaction(userId: string, conversationId: string, messageId: string, emoji: string): Promise<MessageView> {
    checkEmoji(emoji);
    await this.conversations.requireMember(conversationId, userId);
    const change = await this.nextChange(conversationId);
    const r = await this.repo.addReaction(conversationId, messageId, { user_id: userId, emoji, key: reactionKey(userId, emoji), created_at: new Date() }, change);
    if (r === 'missing') throw AppError.notFound('Message');
    if (r === 'added') await this.changed(conversationId);
    if (r === 'added') this.events.emit('reaction.added', { tenantId: this.tenant(), conversationId, messageId, user_id: userId, emoji });
    return this.get(userId, conversationId, messageId);
  }

  async removeReaction(userId: string, conversationId: string, messageId: string, emoji: string): Promise<MessageView> {
    checkEmoji(emoji);
    await this.conversations.requireMember(conversationId, userId);
    const change = await this.nextChange(conversationId);
    const r = await this.repo.removeReaction(conversationId, messageId, reactionKey(userId, emoji), new Date(), change);
    if (r === 'missing') throw AppError.notFound('Message');
    if (r === 'removed') await this.changed(conversationId);
    if (r === 'removed') this.events.emit('reaction.removed', { tenantId: this.tenant(), conversationId, messageId, user_id: userId, emoji });
    return this.get(userId, conversationId, messageId);
  }

  // ---------------------------------------------------------------- receipts

  /**
   * Moves the reader's position forward (never back; capped at the conversation's last seq), then marks
   * the messages in between: status read, and read_by in conversations small enough for per-message receipts.
   */
  async markRead(userId: string, conversationId: string, seq: number): Promise<ReceiptView> {
    const conv = await this.conversations.requireMember(conversationId, userId);
    const r = await this.conversationsRepo.markRead(conversationId, userId, seq);
    if (!r) throw AppError.notFound('Conversation');
    if (r.changed) {
      // The updates are conditional (reader not in read_by yet), so re-covering read messages is a no-op.
      const from = Math.max(0, r.last_read_seq - this.config.RECEIPTS_MAX_MESSAGES);
      const withReadBy = conv.participants.length <= this.config.READ_RECEIPTS_MAX_MEMBERS;
      await this.repo.markReadRange(conversationId, userId, from, r.last_read_seq, new Date(), withReadBy);
      await this.changed(conversationId);
      this.events.emit('conversation.read', { tenantId: this.tenant(), conversationId, user_id: userId, seq: r.last_read_seq });
    }
    return { conversation_id: conversationId, user_id: userId, last_read_seq: r.last_read_seq, last_delivered_seq: r.last_delivered_seq };
  }

  async markDelivered(userId: string, conversationId: string, seq: number): Promise<ReceiptView> {
    await this.conversations.requireMember(conversationId, userId);
    const r = await this.conversationsRepo.markDelivered(conversationId, userId, seq);
    if (!r) throw AppError.notFound('Conversation');
    if (r.changed) {
      const from = Math.max(0, r.last_delivered_seq - this.config.RECEIPTS_MAX_MESSAGES);
      await this.repo.markDeliveredRange(conversationId, userId, from, r.last_delivered_seq);
      await this.changed(conversationId);
      this.events.emit('message.delivered', { tenantId: this.tenant(), conversationId, user_id: userId, seq: r.last_delivered_seq });
    }
    return { conversation_id: conversationId, user_id: userId, last_delivered_seq: r.last_delivered_seq };
  }
}

function dedupe(list: string[]): string[] {
  return [...new Set(list)];
}

/** A plain copy of the validated envelope (class instances from the pipe, known fields only). */
function plainContent(c: MessageContent): MessageContent {
  if (isV2(c)) return plainContentV2(c);
  const out: MessageContent = {
    type: c.type,
    algorithm: c.algorithm,
    sender_device_id: c.sender_device_id,
    sender_key_version: c.sender_key_version,
    ephemeral_public_key: c.ephemeral_public_key,
    encrypted_data: c.encrypted_data,
    encrypted_key: (c.encrypted_key ?? []).map((k) => ({ user_id: k.user_id, device_id: k.device_id, key_version: k.key_version, wrapped_key: k.wrapped_key })),
  };
  if (c.signature !== undefined) out.signature = c.signature;
  return out;
}
