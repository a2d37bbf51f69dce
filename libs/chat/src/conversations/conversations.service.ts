import { Injectable } from '@nestjs/common';
import { CacheService } from '@chat/cache';
import { AppConfig } from '@chat/config';
import { eventTrace } from '@chat/database';
import { AppError, ErrorCode } from '@chat/errors';
import { TenantContext } from '@chat/tenancy';
import { ChatEventBus } from '../events/chat-events';
import { RelationshipsService } from '../relationships/relationships.service';
import { decodeCursor, encodeCursor, Page } from '../users/pagination';
import { UsersService } from '../users/users.service';
import type { ConversationType, ParticipantRole } from '@chat/contracts';
import { ConversationDoc, directKeyFor } from './conversation.schema';
import { ConversationRecord, ConversationsRepository, ListCursor } from './conversations.repository';
import { ConversationResponse, ConversationView, toConversationResponse } from './conversation.views';
import { ConversationAccess, conversationCacheKey, MEMBER_CONVERSATION_IDS_MAX, memberConversationIdsCacheKey } from './conversation-access';
import { ConversationMembershipService } from './conversation-membership.service';
import { PendingConversationWrites } from './pending-conversation-writes';
import { ConversationSeqs } from './conversation-seqs';
import type { ConversationPolicy, SendPolicyCheck } from './conversation-policy';
import { Actor, membershipKeys, newParticipant, requireManageable } from './conversation-rules';

export { MEMBER_CONVERSATION_IDS_MAX } from './conversation-access';
export type { Actor } from './conversation-rules';

type RawCursor = { u: string; i: string };
const isRawCursor = (v: Record<string, unknown>): v is RawCursor =>
  typeof v.u === 'string' && !Number.isNaN(Date.parse(v.u)) && typeof v.i === 'string' && /^[0-9a-f]{24}$/.test(v.i);

function toListCursor(raw: RawCursor | undefined): ListCursor | undefined {
  return raw ? { updatedAt: new Date(raw.u), id: raw.i } : undefined;
}

export interface ChannelSummary {
  id: string;
  type: 'channel';
  metadata: ConversationDoc['metadata'];
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface CreateConversationInput {
  type: 'group' | 'channel';
  name?: string | null;
  avatar?: string | null;
  description?: string | null;
  member_ids?: string[];
}

/**
 * Conversations: creation (groups, channels, the one direct conversation of two users), lists,
 * details and a member's own settings. Membership checks are ConversationAccess (cached) and
 * membership changes ConversationMembershipService; the methods below hand over to them, so callers
 * keep one entry point.
 */
@Injectable()
export class ConversationsService {
  constructor(
    private readonly repo: ConversationsRepository,
    private readonly users: UsersService,
    private readonly relationships: RelationshipsService,
    private readonly cache: CacheService,
    private readonly events: ChatEventBus,
    private readonly config: AppConfig,
    private readonly access: ConversationAccess,
    private readonly membership: ConversationMembershipService,
    // last_message and updated_at are written after a send's ack: reads here wait for this node's pending writes.
    private readonly pendingWrites: PendingConversationWrites,
    private readonly seqs: ConversationSeqs,
  ) {}

  static cacheKey(conversationId: string): string[] {
    return conversationCacheKey(conversationId);
  }

  /** The ids of the conversations a user is in (invalidated by every membership change of that user). */
  static memberIdsKey(userId: string): string[] {
    return memberConversationIdsCacheKey(userId);
  }

  private tenant() {
    return TenantContext.requireTenantId('conversations');
  }

  /** Read-your-writes on this node: the conversations' pending last_message writes (all of the tenant's when no ids). */
  private settled(conversationIds?: string[]): Promise<void> {
    return this.pendingWrites.settled(this.tenant(), conversationIds);
  }

  /**
   * The same for a user's list: only their conversations' pending writes (the cached ids a socket joins;
   * read only when the tenant has a pending write), all of the tenant's when that list is cut.
   */
  private async settledForUser(userId: string): Promise<void> {
    if (!this.pendingWrites.any(this.tenant())) return;
    const ids = await this.access.memberConversationIds(userId).catch(() => null);
    await this.settled(ids && ids.length < MEMBER_CONVERSATION_IDS_MAX ? ids : undefined);
  }

  // ---------------------------------------------------------------- membership reads (ConversationAccess)

  getView(conversationId: string): Promise<ConversationView | null> {
    return this.access.getView(conversationId);
  }

  requireMember(conversationId: string, userId: string): Promise<ConversationView> {
    return this.access.requireMember(conversationId, userId);
  }

  getMemberIds(conversationId: string): Promise<string[]> {
    return this.access.getMemberIds(conversationId);
  }

  memberConversationIds(userId: string, opts: { fresh?: boolean } = {}): Promise<string[]> {
    return this.access.memberConversationIds(userId, opts);
  }

  /** Moderation registers its send and admission checks here (ConversationAccess holds them). */
  setPolicy(policy: ConversationPolicy | null): void {
    this.access.setPolicy(policy);
  }

  checkSendPolicy(conversation: ConversationView, senderId: string): Promise<void> {
    return this.access.checkSendPolicy(conversation, senderId);
  }

  startSendPolicy(conversationId: string): SendPolicyCheck {
    return this.access.startSendPolicy(conversationId);
  }

  checkWritePolicy(conversation: ConversationView, userId: string): Promise<void> {
    return this.access.checkWritePolicy(conversation, userId);
  }

  // ---------------------------------------------------------------- creation

  private emitCreated(doc: ConversationRecord): void {
    this.events.emit('conversation.created', {
      tenantId: this.tenant(),
      conversationId: String(doc._id),
      member_ids: doc.participants.map((p) => p.user_id),
      conversation: toConversationResponse(doc, null) as unknown as Record<string, unknown>,
    });
  }

  /** A group or channel: the creator is its owner, `member_ids` join as members. */
  async create(creatorId: string, input: CreateConversationInput): Promise<ConversationResponse> {
    await this.users.requireActive(creatorId);
    const members = [...new Set((input.member_ids ?? []).filter((id) => id !== creatorId))];
    if (members.length + 1 > this.config.CONVERSATION_MAX_MEMBERS) {
      throw AppError.validation([{ field: 'member_ids', problems: [`a conversation has at most ${this.config.CONVERSATION_MAX_MEMBERS} members`] }]);
    }
    if (members.length) await this.membership.requireActiveUsers(members);
    const { conversation } = await this.repo.create({
      type: input.type,
      participants: [newParticipant(creatorId, 'owner'), ...members.map((id) => newParticipant(id, 'member'))],
      metadata: { name: input.name ?? null, avatar: input.avatar ?? null, description: input.description ?? null },
      createdBy: creatorId,
    });
    await this.cache.del(...membershipKeys(String(conversation._id), [], conversation.participants));
    this.emitCreated(conversation);
    return toConversationResponse(conversation, creatorId);
  }

  /**
   * The direct conversation of two users: always the same one, even when both create it at once (the
   * unique direct_key decides). Refused with 403 when the other user has blocked the opener.
   */
  async openDirect(userId: string, otherId: string): Promise<{ conversation: ConversationResponse; created: boolean }> {
    if (userId === otherId) throw AppError.validation([{ field: 'user_id', problems: ['cannot open a direct conversation with yourself'] }]);
    await this.users.requireActive(userId);
    const other = await this.users.find(otherId);
    if (!other) throw AppError.notFound('User');
    if (await this.relationships.isBlocked(otherId, userId)) throw AppError.forbidden('This user does not accept direct conversations from you');
    const key = directKeyFor(userId, otherId);
    let doc = await this.repo.findDirect(key);
    if (doc && this.pendingWrites.has(this.tenant(), String(doc._id))) {
      await this.settled([String(doc._id)]);
      doc = await this.repo.findDirect(key);
    }
    let created = false;
    if (!doc) {
      if (other.deactivated) throw new AppError(ErrorCode.Forbidden, 'User is deactivated');
      const res = await this.repo.create({
        type: 'direct',
        directKey: key,
        participants: [newParticipant(userId, 'member'), newParticipant(otherId, 'member')],
        metadata: { name: null, avatar: null, description: null },
        createdBy: userId,
      });
      doc = res.conversation;
      created = res.created;
      if (created) {
        await this.cache.del(...membershipKeys(String(doc._id), [], doc.participants));
        this.emitCreated(doc);
      }
    }
    // A user deleted and re-created under the same external id gets their place back.
    const missing = [userId, otherId].filter((id) => !doc!.participants.some((p) => p.user_id === id));
    if (missing.length) {
      const lastSeq = await this.seqs.counterSeq(String(doc._id));
      doc = (
        await this.membership.mutateMembers(String(doc._id), (d) => {
          const absent = [userId, otherId].filter((id) => !d.participants.some((p) => p.user_id === id));
          return absent.length ? [...d.participants, ...absent.map((id) => newParticipant(id, 'member', Math.max(d.last_seq, lastSeq)))] : null;
        })
      ).doc;
    }
    return { conversation: toConversationResponse(doc, userId), created };
  }

  // ---------------------------------------------------------------- reads for the API

  async list(userId: string, opts: { cursor?: string; limit?: number; type?: ConversationType }): Promise<Page<ConversationResponse>> {
    const limit = Math.min(Math.max(opts.limit ?? 20, 1), 100);
    const after = toListCursor(decodeCursor(opts.cursor, isRawCursor));
    await this.settledForUser(userId);
    const docs = await this.repo.listForUser(userId, { after, limit: limit + 1, type: opts.type });
    const page = docs.slice(0, limit);
    const last = page[page.length - 1];
    return {
      // last_seq and unread counts from the seq counter where it is ahead of the documents (uncommitted seqs).
      data: (await this.seqs.withLastSeqs(page)).map((d) => toConversationResponse(d, userId)),
      next_cursor: docs.length > limit ? encodeCursor({ u: new Date(last.updated_at).toISOString(), i: String(last._id) }) : null,
    };
  }

  /** The tenant's channels, newest activity first (a directory: no members, no messages). */
  async listChannels(opts: { cursor?: string; limit?: number }): Promise<Page<ChannelSummary>> {
    const limit = Math.min(Math.max(opts.limit ?? 20, 1), 100);
    const after = toListCursor(decodeCursor(opts.cursor, isRawCursor));
    await this.settled();
    const docs = await this.repo.listChannels({ after, limit: limit + 1 });
    const page = docs.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map((d) => ({
        id: String(d._id),
        type: 'channel' as const,
        metadata: { name: d.metadata?.name ?? null, avatar: d.metadata?.avatar ?? null, description: d.metadata?.description ?? null },
        created_by: d.created_by ?? null,
        created_at: new Date(d.created_at).toISOString(),
        updated_at: new Date(d.updated_at).toISOString(),
      })),
      next_cursor: docs.length > limit ? encodeCursor({ u: new Date(last.updated_at).toISOString(), i: String(last._id) }) : null,
    };
  }

  /** One conversation as seen by a member (fresh: with last_seq and unread count). */
  async getForMember(conversationId: string, userId: string): Promise<ConversationResponse> {
    await this.settled([conversationId]);
    const doc = ConversationsRepository.isId(conversationId) ? await this.repo.findConversation(conversationId) : null;
    if (!doc || !doc.participants.some((p) => p.user_id === userId)) throw AppError.notFound('Conversation');
    const [fresh] = await this.seqs.withLastSeqs([doc]);
    return toConversationResponse(fresh!, userId);
  }

  /** One conversation for the SaaS client's server. */
  async getAny(conversationId: string): Promise<ConversationResponse> {
    await this.settled([conversationId]);
    const doc = ConversationsRepository.isId(conversationId) ? await this.repo.findConversation(conversationId) : null;
    if (!doc) throw AppError.notFound('Conversation');
    const [fresh] = await this.seqs.withLastSeqs([doc]);
    return toConversationResponse(fresh!, null);
  }

  // ---------------------------------------------------------------- details and settings

  async updateMetadata(conversationId: string, actor: Actor, metadata: Partial<ConversationDoc['metadata']>): Promise<ConversationResponse> {
    // The answer and the conversation.updated event carry last_message.
    await this.settled([conversationId]);
    const doc = ConversationsRepository.isId(conversationId) ? await this.repo.findConversation(conversationId) : null;
    if (!doc) throw AppError.notFound('Conversation');
    requireManageable(doc, actor, 'details');
    // The webhook event is written with the change (docs/webhooks.md, Durability).
    const trace = eventTrace('conversation.updated', { conversation_id: conversationId, type: doc.type });
    await this.repo.updateMetadata(conversationId, metadata, trace);
    await this.cache.del(conversationCacheKey(conversationId));
    const fresh = await this.repo.findConversation(conversationId);
    if (!fresh) throw AppError.notFound('Conversation');
    this.events.emit('conversation.updated', { tenantId: this.tenant(), conversationId, conversation: toConversationResponse(fresh, null) as unknown as Record<string, unknown>, trace });
    return toConversationResponse(fresh, actor.kind === 'user' ? actor.userId : null);
  }

  /** The member's own settings (muted, pinned). */
  async updateSettings(conversationId: string, userId: string, settings: { muted?: boolean; pinned?: boolean }): Promise<ConversationResponse> {
    await this.settled([conversationId]);
    const doc = await this.repo.updateParticipantSettings(conversationId, userId, settings);
    if (!doc) throw AppError.notFound('Conversation');
    await this.cache.del(conversationCacheKey(conversationId));
    return toConversationResponse(doc, userId);
  }

  // ---------------------------------------------------------------- membership changes (ConversationMembershipService)

  addMembers(conversationId: string, actor: Actor, userIds: string[]): Promise<ConversationResponse> {
    return this.membership.addMembers(conversationId, actor, userIds);
  }

  removeMember(conversationId: string, actor: Actor, targetId: string): Promise<void> {
    return this.membership.removeMember(conversationId, actor, targetId);
  }

  setRole(conversationId: string, actor: Actor, targetId: string, role: ParticipantRole): Promise<ConversationResponse> {
    return this.membership.setRole(conversationId, actor, targetId, role);
  }

  leave(conversationId: string, userId: string): Promise<void> {
    return this.membership.leave(conversationId, userId);
  }

  join(conversationId: string, userId: string): Promise<ConversationResponse> {
    return this.membership.join(conversationId, userId);
  }

  removeUserEverywhere(userId: string): Promise<number> {
    return this.membership.removeUserEverywhere(userId);
  }
}
