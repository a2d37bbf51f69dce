import { Injectable } from '@nestjs/common';
import { CacheService } from '@chat/cache';
import { AppConfig } from '@chat/config';
import { AppError, ErrorCode } from '@chat/errors';
import { TenantContext } from '@chat/tenancy';
import { ChatEventBus } from '../events/chat-events';
import { UsersService } from '../users/users.service';
import type { ParticipantRole } from '@chat/contracts';
import { MEMBER_CHANGES_KEPT, MemberChangeDoc, ParticipantDoc } from './conversation.schema';
import { ConversationSeqs } from './conversation-seqs';
import { ConversationRecord, ConversationsRepository } from './conversations.repository';
import { ConversationResponse, toConversationResponse } from './conversation.views';
import { ConversationAccess } from './conversation-access';
import { PendingConversationWrites } from './pending-conversation-writes';
import { Actor, actorEntry, membershipKeys, newParticipant, ownersOtherThan, RANK, requireManageable } from './conversation-rules';

const CAS_ATTEMPTS = 12;
const ADD_MAX = 1000;

/**
 * Membership changes: add, remove, leave, join, roles, and a deleted user leaving everywhere. Each is
 * a compare-and-set on participants_version (retried), then the cached views are dropped, so a
 * removed member is refused by the very next requireMember on any node; then its event.
 */
@Injectable()
export class ConversationMembershipService {
  constructor(
    private readonly repo: ConversationsRepository,
    private readonly users: UsersService,
    private readonly cache: CacheService,
    private readonly events: ChatEventBus,
    private readonly config: AppConfig,
    private readonly access: ConversationAccess,
    private readonly pendingWrites: PendingConversationWrites,
    private readonly seqs: ConversationSeqs,
  ) {
    // A deleted user leaves every conversation.
    events.on('user.deleted', async ({ user_id }) => void (await this.removeUserEverywhere(user_id)));
  }

  private tenant() {
    return TenantContext.requireTenantId('conversations');
  }

  /** Refuses (404 with the missing ids) unless every user exists and is active. */
  async requireActiveUsers(ids: string[]): Promise<void> {
    const active = new Set(await this.users.activeIds(ids));
    const missing = ids.filter((id) => !active.has(id));
    if (missing.length) throw new AppError(ErrorCode.NotFound, 'Some users were not found or are deactivated', { missing_user_ids: missing });
  }

  /**
   * Read, compute, compare-and-set, retried. `mutate` returns the new participants, or null for
   * "nothing to change"; it may throw an AppError (permissions, invariants) on the state it sees.
   */
  async mutateMembers(
    conversationId: string,
    mutate: (doc: ConversationRecord) => ParticipantDoc[] | null,
    // Given for changes that raise member.added / member.removed / member.role_changed: the change is logged in the same write (MemberChangeDoc).
    log?: { by: string | null },
  ): Promise<{ doc: ConversationRecord; changed: boolean; before: ConversationRecord }> {
    if (!ConversationsRepository.isId(conversationId)) throw AppError.notFound('Conversation');
    // The answers (add, join, roles) carry last_message, written after a send's ack: this node's pending write first.
    await this.pendingWrites.settled(this.tenant(), [conversationId]);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const doc = await this.repo.findConversation(conversationId);
      if (!doc) throw AppError.notFound('Conversation');
      const next = mutate(doc);
      if (next === null) return { doc, changed: false, before: doc };
      const changes = log ? memberChangesAfter(doc, next, log.by) : undefined;
      if (await this.repo.casParticipants(conversationId, doc.participants_version ?? 0, next, true, changes)) {
        await this.cache.del(...membershipKeys(conversationId, doc.participants, next));
        return { doc: { ...doc, participants: next, participants_version: (doc.participants_version ?? 0) + 1, updated_at: new Date() }, changed: true, before: doc };
      }
      await new Promise((r) => setTimeout(r, 1 + Math.random() * 4 * (attempt + 1)));
    }
    throw AppError.conflict('The conversation changed concurrently, retry');
  }

  /** Adds users as members (idempotent for existing members). Owners and admins of groups and channels. */
  async addMembers(conversationId: string, actor: Actor, userIds: string[]): Promise<ConversationResponse> {
    const ids = [...new Set(userIds)];
    if (!ids.length || ids.length > ADD_MAX) throw AppError.validation([{ field: 'user_ids', problems: [`must hold 1 to ${ADD_MAX} user ids`] }]);
    // Permission first, so a non-member learns nothing about which users exist.
    const probe = ConversationsRepository.isId(conversationId) ? await this.repo.findConversation(conversationId) : null;
    if (!probe) throw AppError.notFound('Conversation');
    requireManageable(probe, actor, 'members');
    await this.requireActiveUsers(ids);
    await this.access.checkAdmission(conversationId, ids);
    let added: string[] = [];
    // A new member's history starts after every seq reserved so far, committed or not (the seq counter's end).
    const lastSeq = await this.seqs.counterSeq(conversationId);
    const { doc, changed } = await this.mutateMembers(conversationId, (d) => {
      requireManageable(d, actor, 'members');
      added = ids.filter((id) => !d.participants.some((p) => p.user_id === id));
      if (!added.length) return null;
      if (d.participants.length + added.length > this.config.CONVERSATION_MAX_MEMBERS) {
        throw AppError.conflict(`A conversation has at most ${this.config.CONVERSATION_MAX_MEMBERS} members`);
      }
      return [...d.participants, ...added.map((id) => newParticipant(id, 'member', Math.max(d.last_seq, lastSeq)))];
    }, { by: actor.kind === 'user' ? actor.userId : null });
    if (changed) this.events.emit('member.added', { tenantId: this.tenant(), conversationId, user_ids: added, by: actor.kind === 'user' ? actor.userId : undefined, version: doc.participants_version });
    return toConversationResponse(doc, actor.kind === 'user' ? actor.userId : null);
  }

  /** Removes a member: owners remove anyone, admins remove members. Removing yourself is leaving. */
  async removeMember(conversationId: string, actor: Actor, targetId: string): Promise<void> {
    if (actor.kind === 'user' && actor.userId === targetId) return this.leave(conversationId, targetId);
    const { doc, changed } = await this.mutateMembers(conversationId, (d) => {
      const me = requireManageable(d, actor, 'members');
      const target = d.participants.find((p) => p.user_id === targetId);
      if (!target) throw AppError.notFound('Member');
      if (me && me.role !== 'owner' && RANK[target.role] >= RANK[me.role]) throw AppError.forbidden('Admins can only remove members');
      const next = d.participants.filter((p) => p.user_id !== targetId);
      // The SaaS server may remove an owner; the conversation must keep one while it has members.
      if (target.role === 'owner' && next.length && !next.some((p) => p.role === 'owner')) {
        throw new AppError(ErrorCode.Conflict, 'The last owner cannot be removed: make another member owner first', { reason: 'last_owner' });
      }
      return next;
    }, { by: actor.kind === 'user' ? actor.userId : null });
    if (changed) this.events.emit('member.removed', { tenantId: this.tenant(), conversationId, user_ids: [targetId], by: actor.kind === 'user' ? actor.userId : undefined, version: doc.participants_version });
  }

  /** Sets a member's role. Only owners (or the SaaS server); the last owner cannot step down. */
  async setRole(conversationId: string, actor: Actor, targetId: string, role: ParticipantRole): Promise<ConversationResponse> {
    // Logged like a membership change (MemberChangeDoc.roles): member.role_changed is written with the role.
    const { doc, changed } = await this.mutateMembers(conversationId, (d) => {
      const me = actorEntry(d, actor);
      if (d.type === 'direct') throw AppError.forbidden("Roles in a direct conversation cannot be changed");
      if (me && me.role !== 'owner') throw AppError.forbidden('Only owners can change roles');
      const i = d.participants.findIndex((p) => p.user_id === targetId);
      if (i < 0) throw AppError.notFound('Member');
      const target = d.participants[i];
      if (target.role === role) return null;
      if (target.role === 'owner' && ownersOtherThan(d, targetId) === 0) {
        throw new AppError(ErrorCode.Conflict, 'The last owner cannot step down: make another member owner first', { reason: 'last_owner' });
      }
      const next = [...d.participants];
      next[i] = { ...target, role };
      return next;
    }, { by: actor.kind === 'user' ? actor.userId : null });
    if (changed) {
      this.events.emit('conversation.updated', {
        tenantId: this.tenant(),
        conversationId,
        conversation: toConversationResponse(doc, null) as unknown as Record<string, unknown>,
        role_changed: { user_id: targetId, role, by: actor.kind === 'user' ? actor.userId : undefined, version: doc.participants_version },
      });
    }
    return toConversationResponse(doc, actor.kind === 'user' ? actor.userId : null);
  }

  /** Leaves a group or channel. The last owner must hand over first (409) unless nobody else is left. */
  async leave(conversationId: string, userId: string): Promise<void> {
    const { doc, changed } = await this.mutateMembers(conversationId, (d) => {
      const me = d.participants.find((p) => p.user_id === userId);
      if (!me) throw AppError.notFound('Conversation');
      if (d.type === 'direct') throw AppError.forbidden('A direct conversation cannot be left');
      const next = d.participants.filter((p) => p.user_id !== userId);
      if (me.role === 'owner' && next.length && ownersOtherThan(d, userId) === 0) {
        throw new AppError(ErrorCode.Conflict, 'The last owner cannot leave: make another member owner first', { reason: 'last_owner' });
      }
      return next;
    }, { by: userId });
    if (changed) this.events.emit('member.removed', { tenantId: this.tenant(), conversationId, user_ids: [userId], by: userId, version: doc.participants_version });
  }

  /** Joins a channel (any active user of the tenant). Other types behave as if they did not exist. */
  async join(conversationId: string, userId: string): Promise<ConversationResponse> {
    await this.users.requireActive(userId);
    if (ConversationsRepository.isId(conversationId)) await this.access.checkAdmission(conversationId, [userId]);
    const lastSeq = ConversationsRepository.isId(conversationId) ? await this.seqs.counterSeq(conversationId) : 0;
    const { doc, changed } = await this.mutateMembers(conversationId, (d) => {
      const isMember = d.participants.some((p) => p.user_id === userId);
      if (d.type !== 'channel') {
        if (isMember) throw AppError.forbidden('Only channels can be joined');
        throw AppError.notFound('Conversation');
      }
      if (isMember) return null;
      if (d.participants.length + 1 > this.config.CONVERSATION_MAX_MEMBERS) throw AppError.conflict(`A conversation has at most ${this.config.CONVERSATION_MAX_MEMBERS} members`);
      return [...d.participants, newParticipant(userId, 'member', Math.max(d.last_seq, lastSeq))];
    }, { by: userId });
    if (changed) this.events.emit('member.added', { tenantId: this.tenant(), conversationId, user_ids: [userId], by: userId, version: doc.participants_version });
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
        const { doc, changed } = await this.mutateMembers(id, (d) => {
          const me = d.participants.find((p) => p.user_id === userId);
          if (!me) return null;
          const next = d.participants.filter((p) => p.user_id !== userId);
          if (me.role === 'owner' && next.length && !next.some((p) => p.role === 'owner')) {
            const heir = next.find((p) => p.role === 'admin') ?? next[0];
            next[next.indexOf(heir)] = { ...heir, role: 'owner' };
          }
          return next;
        }, { by: null });
        if (changed) {
          count++;
          this.events.emit('member.removed', { tenantId: this.tenant(), conversationId: id, user_ids: [userId], version: doc.participants_version });
        }
      }
      afterId = ids[ids.length - 1];
    }
  }
}

/** The conversation's membership change log after replacing its participants with `next` (oldest first, bounded). */
function memberChangesAfter(doc: ConversationRecord, next: ParticipantDoc[], by: string | null): MemberChangeDoc[] | undefined {
  const before = new Set(doc.participants.map((p) => p.user_id));
  const after = new Set(next.map((p) => p.user_id));
  const added = [...after].filter((id) => !before.has(id));
  const removed = [...before].filter((id) => !after.has(id));
  const roleBefore = new Map(doc.participants.map((p) => [p.user_id, p.role]));
  const roles = next.filter((p) => roleBefore.has(p.user_id) && roleBefore.get(p.user_id) !== p.role).map((p) => ({ user_id: p.user_id, role: p.role }));
  if (!added.length && !removed.length && !roles.length) return undefined;
  const change: MemberChangeDoc = { v: (doc.participants_version ?? 0) + 1, added, removed, by, at: new Date(), ...(roles.length ? { roles } : {}) };
  return [...(doc.member_changes ?? []).slice(-(MEMBER_CHANGES_KEPT - 1)), change];
}
