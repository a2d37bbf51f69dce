import { Injectable } from '@nestjs/common';
import { CacheService } from '@chat/cache';
import { ChatEventBus, ConversationsService, ConversationView, isExternalId } from '@chat/chat';
import { Clock } from '@chat/clock';
import type { EventTrace } from '@chat/database';
import { AppError, ErrorCode } from '@chat/errors';
import { TenantContext } from '@chat/tenancy';
import { ActorRef, actorRef, ModerationActor } from '../common/moderation-actor';
import { ModerationRecord, ModerationTrail } from '../common/moderation-events';
import { RestrictionKind } from './conversation-moderation.schema';
import { ConversationRestrictionsRepository, ConversationSettingsRepository, RestrictionRecord } from './conversation-moderation.repository';
import { requireModerator } from './moderator';

/** Most mutes one conversation's cached state carries (what the send check reads). */
export const MUTES_MAX = 10_000;
export const SLOW_MODE_MAX_SECONDS = 86_400;

/** What the send check reads for a conversation (cached, invalidated by every change). */
export interface ModerationState {
  frozen: boolean;
  slow_mode_seconds: number;
  /** Muted user ids and when each mute ends (null: until unmuted). */
  muted: Record<string, string | null>;
}

export interface RestrictionView {
  user_id: string;
  reason: string | null;
  expires_at: string | null;
  by: ActorRef;
  created_at: string;
}

/** A conversation's moderation as members see it (`banned` only for its owners/admins and the server). */
export interface ConversationModerationView {
  conversation_id: string;
  frozen: boolean;
  slow_mode_seconds: number;
  muted: Array<{ user_id: string; expires_at: string | null }>;
  /** The caller's own state (null for the server). */
  me: { muted: boolean; muted_until: string | null; exempt_from_slow_mode: boolean } | null;
}

const stateKey = (conversationId: string): string[] => ['moderation', conversationId];

/**
 * Whether `userId` is muted in this state (own keys only: an external id such as `toString` or
 * `constructor` must not match what every object inherits).
 */
export function isMuted(s: ModerationState, userId: string): boolean {
  return Object.prototype.hasOwnProperty.call(s.muted, userId);
}
const toView = (r: RestrictionRecord): RestrictionView => ({
  user_id: r.user_id,
  reason: r.reason ?? null,
  expires_at: r.expires_at ? new Date(r.expires_at).toISOString() : null,
  by: { type: r.by.type, id: r.by.id },
  created_at: new Date(r.created_at).toISOString(),
});

/**
 * Per-conversation moderation: mute and ban members, freeze, slow mode. Actions by the conversation's
 * owners and admins (on members of lower rank), by the SaaS server's API key or by a platform admin.
 * Each one leaves an audit entry and a `moderation.*` webhook event (ModerationTrail) and tells the
 * conversation's sockets (`conversation:moderation`). What sends and joins are refused for is in
 * ModerationPolicy.
 */
@Injectable()
export class ConversationModerationService {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly restrictions: ConversationRestrictionsRepository,
    private readonly settings: ConversationSettingsRepository,
    private readonly cache: CacheService,
    private readonly clock: Clock,
    private readonly trail: ModerationTrail,
    private readonly bus: ChatEventBus,
  ) {}

  private live(expiresAt: string | Date | null | undefined): boolean {
    return !expiresAt || new Date(expiresAt).getTime() > this.clock.now();
  }

  /** The cached state the send path reads (expired mutes are dropped at read time). */
  async state(conversationId: string): Promise<ModerationState> {
    const s = await this.cache.getOrLoad<ModerationState>(stateKey(conversationId), this.cache.defaultTtlSeconds, async () => {
      const [settings, mutes] = await Promise.all([this.settings.forConversation(conversationId), this.restrictions.list(conversationId, 'mute', { limit: MUTES_MAX })]);
      return {
        frozen: settings?.frozen ?? false,
        slow_mode_seconds: settings?.slow_mode_seconds ?? 0,
        muted: Object.fromEntries(mutes.map((m) => [m.user_id, m.expires_at ? new Date(m.expires_at).toISOString() : null])),
      };
    });
    return { ...s, muted: Object.fromEntries(Object.entries(s.muted).filter(([, until]) => this.live(until))) };
  }

  async view(conversationId: string, actor: ModerationActor): Promise<ConversationModerationView> {
    const conv = await this.requireVisible(conversationId, actor);
    const s = await this.state(conversationId);
    const me = actor.kind === 'user' ? conv.participants.find((p) => p.user_id === actor.userId)! : null;
    return {
      conversation_id: conversationId,
      frozen: s.frozen,
      slow_mode_seconds: s.slow_mode_seconds,
      muted: Object.entries(s.muted).map(([user_id, expires_at]) => ({ user_id, expires_at })),
      me: me
        ? { muted: isMuted(s, me.user_id), muted_until: isMuted(s, me.user_id) ? (s.muted[me.user_id] ?? null) : null, exempt_from_slow_mode: me.role === 'owner' || me.role === 'admin' }
        : null,
    };
  }

  /** Banned users (owners/admins and the server only), by user id. */
  async bans(conversationId: string, actor: ModerationActor, opts: { cursor?: string; limit?: number }): Promise<{ data: RestrictionView[]; next_cursor: string | null }> {
    requireModerator(await this.requireVisible(conversationId, actor), actor);
    const limit = Math.min(Math.max(opts.limit ?? 20, 1), 100);
    const rows = await this.restrictions.list(conversationId, 'ban', { afterUserId: opts.cursor, limit: limit + 1 });
    const page = rows.slice(0, limit);
    return { data: page.map(toView), next_cursor: rows.length > limit ? page[page.length - 1]!.user_id : null };
  }

  // ---------------------------------------------------------------- members: mute, ban

  async mute(conversationId: string, actor: ModerationActor, userId: string, input: { reason?: string | null; expires_at?: string | null }): Promise<RestrictionView> {
    return this.trail.attempt('moderation.member_muted', actor, { type: 'conversation', id: conversationId }, async () => {
      const conv = await this.requireVisible(conversationId, actor);
      requireModerator(conv, actor, this.target(conv, userId, true));
      const data = { user_id: userId, ...restrictionData(input) };
      const trace = this.trail.trace(this.record(conversationId, actor, 'member_muted', data));
      const r = await this.restrict(conversationId, actor, userId, 'mute', input, trace);
      await this.changed(conversationId, actor, 'member_muted', [userId], data, trace);
      return r;
    });
  }

  async unmute(conversationId: string, actor: ModerationActor, userId: string): Promise<void> {
    return this.trail.attempt('moderation.member_unmuted', actor, { type: 'conversation', id: conversationId }, async () => {
      const conv = await this.requireVisible(conversationId, actor);
      requireModerator(conv, actor, this.target(conv, userId, false));
      const trace = this.trail.trace(this.record(conversationId, actor, 'member_unmuted', { user_id: userId }));
      if (!(await this.restrictions.lift(conversationId, 'mute', userId, new Date(this.clock.now()), trace))) throw AppError.notFound('Mute');
      await this.changed(conversationId, actor, 'member_unmuted', [userId], { user_id: userId }, trace);
    });
  }

  /** Bans a user (member or not): removed now, and neither joins nor is added again until unbanned. */
  async ban(conversationId: string, actor: ModerationActor, userId: string, input: { reason?: string | null; expires_at?: string | null }): Promise<RestrictionView> {
    return this.trail.attempt('moderation.member_banned', actor, { type: 'conversation', id: conversationId }, async () => {
      const conv = await this.requireVisible(conversationId, actor);
      const target = this.target(conv, userId, false);
      requireModerator(conv, actor, target);
      if (!isExternalId(userId)) throw AppError.notFound('User');
      // Stored first: a join racing the removal is refused by the admission check.
      const data = { user_id: userId, ...restrictionData(input), removed: target !== null };
      const trace = this.trail.trace(this.record(conversationId, actor, 'member_banned', data));
      const r = await this.restrict(conversationId, actor, userId, 'ban', input, trace);
      if (target) {
        try {
          // As the acting user (member.removed then names them; the role rules match the check above), else as the server.
          await this.conversations.removeMember(conversationId, actor.kind === 'user' ? { kind: 'user', userId: actor.userId } : { kind: 'server' }, userId);
        } catch (err) {
          await this.restrictions.remove(conversationId, 'ban', userId);
          throw err;
        }
      }
      await this.changed(conversationId, actor, 'member_banned', [userId], data, trace);
      return r;
    });
  }

  async unban(conversationId: string, actor: ModerationActor, userId: string): Promise<void> {
    return this.trail.attempt('moderation.member_unbanned', actor, { type: 'conversation', id: conversationId }, async () => {
      requireModerator(await this.requireVisible(conversationId, actor), actor);
      const trace = this.trail.trace(this.record(conversationId, actor, 'member_unbanned', { user_id: userId }));
      if (!(await this.restrictions.lift(conversationId, 'ban', userId, new Date(this.clock.now()), trace))) throw AppError.notFound('Ban');
      await this.changed(conversationId, actor, 'member_unbanned', [userId], { user_id: userId }, trace);
    });
  }

  /** Ids among `userIds` under a ban in force in this conversation. */
  async bannedAmong(conversationId: string, userIds: string[]): Promise<string[]> {
    const rows = await this.restrictions.forUsers(conversationId, 'ban', userIds);
    return rows.filter((r) => this.live(r.expires_at)).map((r) => r.user_id);
  }

  // ---------------------------------------------------------------- conversation: freeze, slow mode

  async update(conversationId: string, actor: ModerationActor, input: { frozen?: boolean; slow_mode_seconds?: number }): Promise<ConversationModerationView> {
    return this.trail.attempt('moderation.conversation_update', actor, { type: 'conversation', id: conversationId }, async () => {
      requireModerator(await this.requireVisible(conversationId, actor), actor);
      const before = await this.state(conversationId);
      const fields: { frozen?: boolean; slow_mode_seconds?: number } = {};
      if (input.frozen !== undefined && input.frozen !== before.frozen) fields.frozen = input.frozen;
      if (input.slow_mode_seconds !== undefined && input.slow_mode_seconds !== before.slow_mode_seconds) fields.slow_mode_seconds = input.slow_mode_seconds;
      if (Object.keys(fields).length) {
        // The webhook events are written with the settings (docs/webhooks.md, Durability).
        const frozen = fields.frozen === undefined ? null : this.trail.trace(this.record(conversationId, actor, fields.frozen ? 'conversation_frozen' : 'conversation_unfrozen', {}));
        const slow =
          fields.slow_mode_seconds === undefined
            ? null
            : this.trail.trace(this.record(conversationId, actor, 'slow_mode_changed', { slow_mode_seconds: fields.slow_mode_seconds, previous_seconds: before.slow_mode_seconds }));
        await this.settings.set(conversationId, fields, new Date(this.clock.now()), [frozen, slow].filter((t) => t !== null));
        if (frozen) await this.changed(conversationId, actor, fields.frozen ? 'conversation_frozen' : 'conversation_unfrozen', [], {}, frozen);
        if (slow) await this.changed(conversationId, actor, 'slow_mode_changed', [], { slow_mode_seconds: fields.slow_mode_seconds, previous_seconds: before.slow_mode_seconds }, slow);
      }
      return this.view(conversationId, actor);
    });
  }

  // ---------------------------------------------------------------- helpers

  /** The conversation if the actor may see it: any for the server and admins, members for users (else 404). */
  async requireVisible(conversationId: string, actor: ModerationActor): Promise<ConversationView> {
    const conv = await this.conversations.getView(conversationId);
    if (!conv || (actor.kind === 'user' && !conv.participants.some((p) => p.user_id === actor.userId))) throw AppError.notFound('Conversation');
    return conv;
  }

  private target(conv: ConversationView, userId: string, mustBeMember: boolean) {
    const p = conv.participants.find((x) => x.user_id === userId) ?? null;
    if (!p && mustBeMember) throw AppError.notFound('Member');
    return p;
  }

  private async restrict(
    conversationId: string,
    actor: ModerationActor,
    userId: string,
    kind: RestrictionKind,
    input: { reason?: string | null; expires_at?: string | null },
    trace: EventTrace,
  ): Promise<RestrictionView> {
    const expires = input.expires_at ? new Date(input.expires_at) : null;
    if (expires && !this.live(expires)) throw AppError.validation([{ field: 'expires_at', problems: ['must be in the future'] }]);
    const r = await this.restrictions.put(
      {
        conversation_id: conversationId,
        user_id: userId,
        kind,
        reason: input.reason ?? null,
        expires_at: expires,
        by: actorRef(actor),
        created_at: new Date(this.clock.now()),
      },
      trace,
    );
    return toView(r);
  }

  /** The trail record of an action on the conversation (its audit entry and `moderation.*` event). */
  private record(conversationId: string, actor: ModerationActor, action: string, data: Record<string, unknown>): ModerationRecord {
    return {
      type: `moderation.${action}`,
      actor,
      resource: { type: 'conversation', id: conversationId },
      data: { conversation_id: conversationId, ...data },
      severity: action === 'member_banned' ? 'warning' : 'info',
    };
  }

  /** After any change: the cached state goes, sockets are told, the trail is written (`trace`: the event written with the change). */
  private async changed(conversationId: string, actor: ModerationActor, action: string, userIds: string[], data: Record<string, unknown>, trace?: EventTrace): Promise<void> {
    await this.cache.del(stateKey(conversationId));
    await this.notify(conversationId, actor, action, data, userIds);
    await this.trail.record(this.record(conversationId, actor, action, data), trace);
  }

  /** `conversation:moderation` to the members' sockets (and to `userIds`' own): the state and what changed. */
  async notify(conversationId: string, actor: ModerationActor, action: string, data: Record<string, unknown>, userIds: string[] = []): Promise<void> {
    const s = await this.state(conversationId);
    this.bus.emit('conversation.moderated', {
      tenantId: TenantContext.requireTenantId('moderation'),
      conversationId,
      user_ids: userIds,
      state: {
        conversation_id: conversationId,
        frozen: s.frozen,
        slow_mode_seconds: s.slow_mode_seconds,
        muted: Object.entries(s.muted).map(([user_id, expires_at]) => ({ user_id, expires_at })),
        change: { action, ...data, by: actorRef(actor) },
      },
    });
  }
}

export const moderationErrors = {
  frozen: () => new AppError(ErrorCode.ConversationFrozen, 'This conversation is frozen: nobody can send messages'),
  muted: (until: string | null) => new AppError(ErrorCode.MemberMuted, 'You are muted in this conversation', { muted_until: until }),
};

/** A mute's or ban's reason and expiry as its event tells them (the same as its view). */
function restrictionData(input: { reason?: string | null; expires_at?: string | null }): { reason: string | null; expires_at: string | null } {
  const expires = input.expires_at ? new Date(input.expires_at) : null;
  // An invalid date is refused by `restrict` (after this is built): it must not throw here.
  return { reason: input.reason ?? null, expires_at: expires && !Number.isNaN(expires.getTime()) ? expires.toISOString() : null };
}
