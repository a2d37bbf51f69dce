import { Injectable } from '@nestjs/common';
import { CacheService } from '@chat/cache';
import { AppConfig } from '@chat/config';
import { AppError, ErrorCode } from '@chat/errors';
import { TenantBatchLoader, TenantContext } from '@chat/tenancy';
import { ChatEventBus } from '../events/chat-events';
import { RelationshipsService } from '../relationships/relationships.service';
import { decodeCursor, encodeCursor, Page } from '../users/pagination';
import { UsersService } from '../users/users.service';
import type { ConversationPolicy } from './conversation-policy';
import { ConversationDoc, ConversationType, directKeyFor, ParticipantDoc, ParticipantRole } from './conversation.schema';
import { ConversationRecord, ConversationsRepository, ListCursor } from './conversations.repository';
import { ConversationResponse, ConversationView, toConversationResponse, toConversationView } from './conversation.views';

const RANK: Record<ParticipantRole, number> = { owner: 3, admin: 2, member: 1 };
const CAS_ATTEMPTS = 12;
const ADD_MAX = 1000;
/** Most conversation ids memberConversationIds returns (a socket joins at most this many rooms). */
export const MEMBER_CONVERSATION_IDS_MAX = 5000;
/** Most conversations one batched membership query reads before falling back to per-user queries. */
const MEMBER_IDS_BATCH_DOCS = 20_000;

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

/** Who performs a change: an end user (permissions apply) or the SaaS client's server (API key: trusted). */
export type Actor = { kind: 'user'; userId: string } | { kind: 'server' };

/**
 * Conversations and membership. Membership changes are compare-and-set on participants_version
 * (retried), then the cached view is invalidated, so a removed member is refused by the very next
 * requireMember on any node.
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
  ) {
    // A deleted user leaves every conversation.
    users.onUserDeleted(async (userId) => void (await this.removeUserEverywhere(userId)));
  }

  private policy: ConversationPolicy | null = null;

  /** Moderation registers itself here at start-up (libs/moderation); without it nothing is refused by it. */
  setPolicy(policy: ConversationPolicy | null): void {
    this.policy = policy;
  }

  /** The send path's one moderation call (muted, frozen, slow mode): MessagesService runs it for REST and sockets. */
  async checkSendPolicy(conversation: ConversationView, senderId: string): Promise<void> {
    await this.policy?.checkSend(conversation, senderId);
  }

  static cacheKey(conversationId: string): string[] {
    return ['conv', conversationId];
  }

  /** The ids of the conversations a user is in (invalidated by every membership change of that user). */
  static memberIdsKey(userId: string): string[] {
    return ['member-convs', userId];
  }

  /** Cache keys to drop after a membership change: the conversation's view and the lists of the users who joined or left. */
  private static membershipKeys(conversationId: string, before: ParticipantDoc[], after: ParticipantDoc[]): string[][] {
    const was = new Set(before.map((p) => p.user_id));
    const is = new Set(after.map((p) => p.user_id));
    const moved = [...[...is].filter((u) => !was.has(u)), ...[...was].filter((u) => !is.has(u))];
    return [ConversationsService.cacheKey(conversationId), ...moved.map((u) => ConversationsService.memberIdsKey(u))];
  }

  private tenant() {
    return TenantContext.requireTenantId('conversations');
  }

  // ---------------------------------------------------------------- reads used by the messages path

  /** The cached membership view, or null for a missing / malformed / other-tenant id. */
  getView(conversationId: string): Promise<ConversationView | null> {
    if (!ConversationsRepository.isId(conversationId)) return Promise.resolve(null);
    return this.cache.getOrLoad(ConversationsService.cacheKey(conversationId), this.cache.defaultTtlSeconds, async () => {
      const doc = await this.repo.findConversation(conversationId);
      return doc ? toConversationView(doc) : null;
    });
  }

  /** The conversation if `userId` is a member; 404 otherwise (existence is never revealed). */
  async requireMember(conversationId: string, userId: string): Promise<ConversationView> {
    const view = await this.getView(conversationId);
    if (!view || !view.participants.some((p) => p.user_id === userId)) throw AppError.notFound('Conversation');
    return view;
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
    return this.cache.getOrLoad(ConversationsService.memberIdsKey(userId), this.cache.defaultTtlSeconds, async () => (await this.memberIdsLoader.get(userId)) ?? []);
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
    const load = async () => {
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
    };
    return load();
  }

  // ---------------------------------------------------------------- creation

  private participant(userId: string, role: ParticipantRole, lastSeq = 0): ParticipantDoc {
    return {
      user_id: userId,
      role,
      joined_at: new Date(),
      joined_seq: lastSeq,
      last_read_seq: lastSeq,
      last_delivered_seq: lastSeq,
      settings: { muted: false, pinned: false },
    };
  }

  private async requireActiveUsers(ids: string[]): Promise<void> {
    const active = new Set(await this.users.activeIds(ids));
    const missing = ids.filter((id) => !active.has(id));
    if (missing.length) throw new AppError(ErrorCode.NotFound, 'Some users were not found or are deactivated', { missing_user_ids: missing });
  }

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
    if (members.length) await this.requireActiveUsers(members);
    const { conversation } = await this.repo.create({
      type: input.type,
      participants: [this.participant(creatorId, 'owner'), ...members.map((id) => this.participant(id, 'member'))],
      metadata: { name: input.name ?? null, avatar: input.avatar ?? null, description: input.description ?? null },
      createdBy: creatorId,
    });
    await this.cache.del(...ConversationsService.membershipKeys(String(conversation._id), [], conversation.participants));
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
    let created = false;
    if (!doc) {
      if (other.deactivated) throw new AppError(ErrorCode.Forbidden, 'User is deactivated');
      const res = await this.repo.create({
        type: 'direct',
        directKey: key,
        participants: [this.participant(userId, 'member'), this.participant(otherId, 'member')],
        metadata: { name: null, avatar: null, description: null },
        createdBy: userId,
      });
      doc = res.conversation;
      created = res.created;
      if (created) {
        await this.cache.del(...ConversationsService.membershipKeys(String(doc._id), [], doc.participants));
        this.emitCreated(doc);
      }
    }
    // A user deleted and re-created under the same external id gets their place back.
    const missing = [userId, otherId].filter((id) => !doc!.participants.some((p) => p.user_id === id));
    if (missing.length) {
      doc = (
        await this.mutateMembers(String(doc._id), (d) => {
          const absent = [userId, otherId].filter((id) => !d.participants.some((p) => p.user_id === id));
          return absent.length ? [...d.participants, ...absent.map((id) => this.participant(id, 'member', d.last_seq))] : null;
        })
      ).doc;
    }
    return { conversation: toConversationResponse(doc, userId), created };
  }

  // ---------------------------------------------------------------- reads for the API

  async list(userId: string, opts: { cursor?: string; limit?: number; type?: ConversationType }): Promise<Page<ConversationResponse>> {
    const limit = Math.min(Math.max(opts.limit ?? 20, 1), 100);
    const after = toListCursor(decodeCursor(opts.cursor, isRawCursor));
    const docs = await this.repo.listForUser(userId, { after, limit: limit + 1, type: opts.type });
    const page = docs.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map((d) => toConversationResponse(d, userId)),
      next_cursor: docs.length > limit ? encodeCursor({ u: new Date(last.updated_at).toISOString(), i: String(last._id) }) : null,
    };
  }

  /** The tenant's channels, newest activity first (a directory: no members, no messages). */
  async listChannels(opts: { cursor?: string; limit?: number }): Promise<Page<ChannelSummary>> {
    const limit = Math.min(Math.max(opts.limit ?? 20, 1), 100);
    const after = toListCursor(decodeCursor(opts.cursor, isRawCursor));
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
    const doc = ConversationsRepository.isId(conversationId) ? await this.repo.findConversation(conversationId) : null;
    if (!doc || !doc.participants.some((p) => p.user_id === userId)) throw AppError.notFound('Conversation');
    return toConversationResponse(doc, userId);
  }

  /** One conversation for the SaaS client's server. */
  async getAny(conversationId: string): Promise<ConversationResponse> {
    const doc = ConversationsRepository.isId(conversationId) ? await this.repo.findConversation(conversationId) : null;
    if (!doc) throw AppError.notFound('Conversation');
    return toConversationResponse(doc, null);
  }

  // ---------------------------------------------------------------- membership changes

  /**
   * Read, compute, compare-and-set, retried. `mutate` returns the new participants, or null for
   * "nothing to change"; it may throw an AppError (permissions, invariants) on the state it sees.
   */
  private async mutateMembers(
    conversationId: string,
    mutate: (doc: ConversationRecord) => ParticipantDoc[] | null,
  ): Promise<{ doc: ConversationRecord; changed: boolean; before: ConversationRecord }> {
    if (!ConversationsRepository.isId(conversationId)) throw AppError.notFound('Conversation');
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const doc = await this.repo.findConversation(conversationId);
      if (!doc) throw AppError.notFound('Conversation');
      const next = mutate(doc);
      if (next === null) return { doc, changed: false, before: doc };
      if (await this.repo.casParticipants(conversationId, doc.participants_version ?? 0, next)) {
        await this.cache.del(...ConversationsService.membershipKeys(conversationId, doc.participants, next));
        return { doc: { ...doc, participants: next, participants_version: (doc.participants_version ?? 0) + 1, updated_at: new Date() }, changed: true, before: doc };
      }
      await new Promise((r) => setTimeout(r, 1 + Math.random() * 4 * (attempt + 1)));
    }
    throw AppError.conflict('The conversation changed concurrently, retry');
  }

  /** The actor's membership; 404 for non-members (no existence leak). Server actors pass. */
  private static actorEntry(doc: ConversationRecord, actor: Actor): ParticipantDoc | null {
    if (actor.kind === 'server') return null;
    const me = doc.participants.find((p) => p.user_id === actor.userId);
    if (!me) throw AppError.notFound('Conversation');
    return me;
  }

  private static requireManageable(doc: ConversationRecord, actor: Actor, what: string): ParticipantDoc | null {
    const me = ConversationsService.actorEntry(doc, actor);
    if (doc.type === 'direct') throw AppError.forbidden(`A direct conversation's ${what} cannot be changed`);
    if (me && RANK[me.role] < RANK.admin) throw AppError.forbidden(`Only owners and admins can change ${what}`);
    return me;
  }

  private static ownersOtherThan(doc: { participants: ParticipantDoc[] }, userId: string): number {
    return doc.participants.filter((p) => p.role === 'owner' && p.user_id !== userId).length;
  }

  async updateMetadata(conversationId: string, actor: Actor, metadata: Partial<ConversationDoc['metadata']>): Promise<ConversationResponse> {
    const doc = ConversationsRepository.isId(conversationId) ? await this.repo.findConversation(conversationId) : null;
    if (!doc) throw AppError.notFound('Conversation');
    ConversationsService.requireManageable(doc, actor, 'details');
    await this.repo.updateMetadata(conversationId, metadata);
    await this.cache.del(ConversationsService.cacheKey(conversationId));
    const fresh = await this.repo.findConversation(conversationId);
    if (!fresh) throw AppError.notFound('Conversation');
    this.events.emit('conversation.updated', { tenantId: this.tenant(), conversationId, conversation: toConversationResponse(fresh, null) as unknown as Record<string, unknown> });
    return toConversationResponse(fresh, actor.kind === 'user' ? actor.userId : null);
  }

  /** Adds users as members (idempotent for existing members). Owners and admins of groups and channels. */
  async addMembers(conversationId: string, actor: Actor, userIds: string[]): Promise<ConversationResponse> {
    const ids = [...new Set(userIds)];
    if (!ids.length || ids.length > ADD_MAX) throw AppError.validation([{ field: 'user_ids', problems: [`must hold 1 to ${ADD_MAX} user ids`] }]);
    // Permission first, so a non-member learns nothing about which users exist.
    const probe = ConversationsRepository.isId(conversationId) ? await this.repo.findConversation(conversationId) : null;
    if (!probe) throw AppError.notFound('Conversation');
    ConversationsService.requireManageable(probe, actor, 'members');
    await this.requireActiveUsers(ids);
    await this.policy?.checkAdmission(conversationId, ids);
    let added: string[] = [];
    const { doc, changed } = await this.mutateMembers(conversationId, (d) => {
      ConversationsService.requireManageable(d, actor, 'members');
      added = ids.filter((id) => !d.participants.some((p) => p.user_id === id));
      if (!added.length) return null;
      if (d.participants.length + added.length > this.config.CONVERSATION_MAX_MEMBERS) {
        throw AppError.conflict(`A conversation has at most ${this.config.CONVERSATION_MAX_MEMBERS} members`);
      }
      return [...d.participants, ...added.map((id) => this.participant(id, 'member', d.last_seq))];
    });
    if (changed) this.events.emit('member.added', { tenantId: this.tenant(), conversationId, user_ids: added, by: actor.kind === 'user' ? actor.userId : undefined });
    return toConversationResponse(doc, actor.kind === 'user' ? actor.userId : null);
  }

  /** Removes a member: owners remove anyone, admins remove members. Removing yourself is leaving. */
  async removeMember(conversationId: string, actor: Actor, targetId: string): Promise<void> {
    if (actor.kind === 'user' && actor.userId === targetId) return this.leave(conversationId, targetId);
    const { changed } = await this.mutateMembers(conversationId, (d) => {
      const me = ConversationsService.requireManageable(d, actor, 'members');
      const target = d.participants.find((p) => p.user_id === targetId);
      if (!target) throw AppError.notFound('Member');
      if (me && me.role !== 'owner' && RANK[target.role] >= RANK[me.role]) throw AppError.forbidden('Admins can only remove members');
      const next = d.participants.filter((p) => p.user_id !== targetId);
      // The SaaS server may remove an owner; the conversation must keep one while it has members.
      if (target.role === 'owner' && next.length && !next.some((p) => p.role === 'owner')) {
        throw new AppError(ErrorCode.Conflict, 'The last owner cannot be removed: make another member owner first', { reason: 'last_owner' });
      }
      return next;
    });
    if (changed) this.events.emit('member.removed', { tenantId: this.tenant(), conversationId, user_ids: [targetId], by: actor.kind === 'user' ? actor.userId : undefined });
  }

  /** Sets a member's role. Only owners (or the SaaS server); the last owner cannot step down. */
  async setRole(conversationId: string, actor: Actor, targetId: string, role: ParticipantRole): Promise<ConversationResponse> {
    const { doc, changed } = await this.mutateMembers(conversationId, (d) => {
      const me = ConversationsService.actorEntry(d, actor);
      if (d.type === 'direct') throw AppError.forbidden("Roles in a direct conversation cannot be changed");
      if (me && me.role !== 'owner') throw AppError.forbidden('Only owners can change roles');
      const i = d.participants.findIndex((p) => p.user_id === targetId);
      if (i < 0) throw AppError.notFound('Member');
      const target = d.participants[i];
      if (target.role === role) return null;
      if (target.role === 'owner' && ConversationsService.ownersOtherThan(d, targetId) === 0) {
        throw new AppError(ErrorCode.Conflict, 'The last owner cannot step down: make another member owner first', { reason: 'last_owner' });
      }
      const next = [...d.participants];
      next[i] = { ...target, role };
      return next;
    });
    if (changed) {
      this.events.emit('conversation.updated', {
        tenantId: this.tenant(),
        conversationId,
        conversation: toConversationResponse(doc, null) as unknown as Record<string, unknown>,
        role_changed: { user_id: targetId, role, by: actor.kind === 'user' ? actor.userId : undefined },
      });
    }
    return toConversationResponse(doc, actor.kind === 'user' ? actor.userId : null);
  }

  /** Leaves a group or channel. The last owner must hand over first (409) unless nobody else is left. */
  async leave(conversationId: string, userId: string): Promise<void> {
    const { changed } = await this.mutateMembers(conversationId, (d) => {
      const me = d.participants.find((p) => p.user_id === userId);
      if (!me) throw AppError.notFound('Conversation');
      if (d.type === 'direct') throw AppError.forbidden('A direct conversation cannot be left');
      const next = d.participants.filter((p) => p.user_id !== userId);
      if (me.role === 'owner' && next.length && ConversationsService.ownersOtherThan(d, userId) === 0) {
        throw new AppError(ErrorCode.Conflict, 'The last owner cannot leave: make another member owner first', { reason: 'last_owner' });
      }
      return next;
    });
    if (changed) this.events.emit('member.removed', { tenantId: this.tenant(), conversationId, user_ids: [userId], by: userId });
  }

  /** Joins a channel (any active user of the tenant). Other types behave as if they did not exist. */
  async join(conversationId: string, userId: string): Promise<ConversationResponse> {
    await this.users.requireActive(userId);
    if (ConversationsRepository.isId(conversationId)) await this.policy?.checkAdmission(conversationId, [userId]);
    const { doc, changed } = await this.mutateMembers(conversationId, (d) => {
      const isMember = d.participants.some((p) => p.user_id === userId);
      if (d.type !== 'channel') {
        if (isMember) throw AppError.forbidden('Only channels can be joined');
        throw AppError.notFound('Conversation');
      }
      if (isMember) return null;
      if (d.participants.length + 1 > this.config.CONVERSATION_MAX_MEMBERS) throw AppError.conflict(`A conversation has at most ${this.config.CONVERSATION_MAX_MEMBERS} members`);
      return [...d.participants, this.participant(userId, 'member', d.last_seq)];
    });
    if (changed) this.events.emit('member.added', { tenantId: this.tenant(), conversationId, user_ids: [userId], by: userId });
    return toConversationResponse(doc, userId);
  }

  /** The member's own settings (muted, pinned). */
  async updateSettings(conversationId: string, userId: string, settings: { muted?: boolean; pinned?: boolean }): Promise<ConversationResponse> {
    const doc = await this.repo.updateParticipantSettings(conversationId, userId, settings);
    if (!doc) throw AppError.notFound('Conversation');
    await this.cache.del(ConversationsService.cacheKey(conversationId));
    return toConversationResponse(doc, userId);
  }

  /** Drops a deleted user from all their conversations; an owner's place passes to the longest-standing admin or member. */
  async removeUserEverywhere(userId: string): Promise<number> {
    let afterId: string | undefined;
    let count = 0;
    for (;;) {
      const ids = await this.repo.idsForUser(userId, { afterId, limit: 100 });
      if (!ids.length) return count;
      for (const id of ids) {
        const { changed } = await this.mutateMembers(id, (d) => {
          const me = d.participants.find((p) => p.user_id === userId);
          if (!me) return null;
          const next = d.participants.filter((p) => p.user_id !== userId);
          if (me.role === 'owner' && next.length && !next.some((p) => p.role === 'owner')) {
            const heir = next.find((p) => p.role === 'admin') ?? next[0];
            next[next.indexOf(heir)] = { ...heir, role: 'owner' };
          }
          return next;
        });
        if (changed) {
          count++;
          this.events.emit('member.removed', { tenantId: this.tenant(), conversationId: id, user_ids: [userId] });
        }
      }
      afterId = ids[ids.length - 1];
    }
  }
}
