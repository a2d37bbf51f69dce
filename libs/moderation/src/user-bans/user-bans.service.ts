import { Injectable, Optional } from '@nestjs/common';
import { CacheService } from '@chat/cache';
import { ChatEventBus, isExternalId, UsersService } from '@chat/chat';
import { Clock } from '@chat/clock';
import { AppError, ErrorCode } from '@chat/errors';
import { TenantContext } from '@chat/tenancy';
import { ActorRef, actorRef, ModerationActor } from '../common/moderation-actor';
import { ModerationTrail } from '../common/moderation-events';
import { UserBanRecord, UserBansRepository } from './user-bans.repository';

export interface UserBanView {
  user_id: string;
  reason: string | null;
  expires_at: string | null;
  /** False once expires_at has passed (the record stays until unbanned). */
  active: boolean;
  by: ActorRef;
  created_at: string;
}

/** What the access check caches per user: the ban, or null. */
export interface ActiveBan {
  reason: string | null;
  expires_at: string | null;
}

const cacheKey = (userId: string): string[] => ['user-ban', userId];

/**
 * Tenant-wide bans of end users. A ban is enforced by the one access check every request, socket
 * handshake and socket event runs (UserTokenService.requireAccess -> `requireNotBanned`, a cached read
 * invalidated by ban and unban), and live sockets are cut at once on every node (the
 * `user.access_revoked` chat event, the path deactivation uses). Expiry is read from the Clock.
 */
@Injectable()
export class UserBansService {
  constructor(
    private readonly repo: UserBansRepository,
    private readonly cache: CacheService,
    private readonly clock: Clock,
    private readonly trail: ModerationTrail,
    // Absent in apps without the chat core (admin alone): the ban is still stored and enforced by every
    // node's access check. The bus is in every app: where no gateway runs (admin alone, api alone) the
    // realtime relay publishes its socket cut to the gateways through Redis.
    @Optional() private readonly users?: UsersService,
    @Optional() private readonly bus?: ChatEventBus,
  ) {}

  private view(d: UserBanRecord): UserBanView {
    const expires = d.expires_at ? new Date(d.expires_at) : null;
    return {
      user_id: d.user_id,
      reason: d.reason ?? null,
      expires_at: expires ? expires.toISOString() : null,
      active: !expires || expires.getTime() > this.clock.now(),
      by: { type: d.by.type, id: d.by.id },
      created_at: new Date(d.created_at).toISOString(),
    };
  }

  async ban(actor: ModerationActor, userId: string, input: { reason?: string | null; expires_at?: string | null }): Promise<UserBanView> {
    if (!isExternalId(userId)) throw AppError.notFound('User');
    if (this.users && !(await this.users.find(userId))) throw AppError.notFound('User');
    const expires = input.expires_at ? new Date(input.expires_at) : null;
    if (expires && !(expires.getTime() > this.clock.now())) throw AppError.validation([{ field: 'expires_at', problems: ['must be in the future'] }]);
    const record = {
      type: 'moderation.user_banned',
      actor,
      resource: { type: 'user' as const, id: userId },
      data: { user_id: userId, reason: input.reason ?? null, expires_at: expires ? expires.toISOString() : null },
      severity: 'warning' as const,
    };
    // The webhook event is written with the ban (docs/webhooks.md, Durability).
    const trace = this.trail.trace(record);
    const doc = await this.repo.put({ user_id: userId, reason: input.reason ?? null, expires_at: expires, by: actorRef(actor), created_at: new Date(this.clock.now()) }, trace);
    // Invalidated before the sockets are cut, so a reconnect already reads the ban.
    await this.cache.del(cacheKey(userId));
    const tenantId = TenantContext.requireTenantId('user ban');
    this.bus?.emit('user.access_revoked', { tenantId, user_id: userId, reason: 'banned' });
    await this.trail.record(record, trace);
    return this.view(doc);
  }

  async unban(actor: ModerationActor, userId: string): Promise<void> {
    const record = { type: 'moderation.user_unbanned', actor, resource: { type: 'user' as const, id: userId }, data: { user_id: userId } };
    const trace = this.trail.trace(record);
    if (!isExternalId(userId) || !(await this.repo.lift(userId, new Date(this.clock.now()), trace))) throw AppError.notFound('Ban');
    await this.cache.del(cacheKey(userId));
    await this.trail.record(record, trace);
  }

  async get(userId: string): Promise<UserBanView> {
    const doc = isExternalId(userId) ? await this.repo.findFor(userId) : null;
    if (!doc) throw AppError.notFound('Ban');
    return this.view(doc);
  }

  async list(opts: { cursor?: string; limit?: number }): Promise<{ data: UserBanView[]; next_cursor: string | null }> {
    const limit = Math.min(Math.max(opts.limit ?? 20, 1), 100);
    const rows = await this.repo.list({ afterUserId: opts.cursor && isExternalId(opts.cursor) ? opts.cursor : undefined, limit: limit + 1 });
    const page = rows.slice(0, limit);
    return { data: page.map((d) => this.view(d)), next_cursor: rows.length > limit ? page[page.length - 1]!.user_id : null };
  }

  /**
   * Part of the access check (tenant in context): the ban in force, or null. A cached read; the expiry
   * is compared with the Clock at each call, so a ban ends on time without a write.
   */
  async activeBan(userId: string): Promise<ActiveBan | null> {
    const ban = await this.cache.getOrLoad<ActiveBan | null>(cacheKey(userId), this.cache.defaultTtlSeconds, async () => {
      const doc = await this.repo.findFor(userId);
      return doc ? { reason: doc.reason ?? null, expires_at: doc.expires_at ? new Date(doc.expires_at).toISOString() : null } : null;
    });
    return ban && !(ban.expires_at && Date.parse(ban.expires_at) <= this.clock.now()) ? ban : null;
  }

  /** 403 `user_banned`, with the reason and expiry. */
  static bannedError(ban: ActiveBan): AppError {
    return new AppError(ErrorCode.UserBanned, 'This user is banned', { reason: ban.reason, expires_at: ban.expires_at });
  }
}
