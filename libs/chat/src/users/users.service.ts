import { Injectable, Optional } from '@nestjs/common';
import { CacheService } from '@chat/cache';
import { eventTrace, EventTrace } from '@chat/database';
import { AppError, ErrorCode } from '@chat/errors';
import { QuotaService } from '@chat/quotas';
import { TenantBatchLoader, TenantContext } from '@chat/tenancy';
import { ChatEventBus } from '../events/chat-events';
import { LastSeenBuffer } from './last-seen.buffer';
import { decodeCursor, encodeCursor, Page } from './pagination';
import { UserTombstonesRepository } from './user-tombstones.repository';
import { UserFields, UsersRepository } from './users.repository';
import { toUserView, UserView } from './user.views';

export const USER_BATCH_MAX = 1000;
const EXTERNAL_ID_RE = /^[A-Za-z0-9_.@:+=-]{1,128}$/;
const MAX_FREEFORM_BYTES = 8 * 1024;

export function isExternalId(value: unknown): value is string {
  return typeof value === 'string' && EXTERNAL_ID_RE.test(value);
}

type CursorAfter = { a: string };
const isCursorAfter = (v: Record<string, unknown>): v is CursorAfter => typeof v.a === 'string' && /^[0-9a-f]{24}$/.test(v.a);

/** Called before users are created: throws (e.g. quota_exceeded) to refuse. Set by the quotas wiring. */
export type UserCreationGuard = (newUsers: number) => Promise<void>;

@Injectable()
export class UsersService {
  private creationGuard: UserCreationGuard | null = null;
  // A burst of first connects asks for thousands of users at once: one query per batch, not per user.
  private readonly byExternalId = new TenantBatchLoader((ids) => this.repo.findByExternalIds(ids));

  constructor(
    private readonly repo: UsersRepository,
    private readonly cache: CacheService,
    private readonly events: ChatEventBus,
    private readonly lastSeen: LastSeenBuffer,
    @Optional() quotas?: QuotaService,
    @Optional() private readonly tombstones?: UserTombstonesRepository,
  ) {
    // Cached views carry last_seen: drop them once the buffered times are in the database.
    lastSeen.onWritten((ids) => this.cache.del(...ids.map((id) => UsersService.cacheKey(id))));
    // The tenant's users quota (absent in apps without the platform modules, e.g. some CLI paths).
    if (quotas) {
      this.creationGuard = async (newUsers) => {
        const tenantId = TenantContext.requireTenantId('users quota');
        await quotas.assertUsersBelowQuota(tenantId, (await this.repo.count()) + newUsers - 1);
      };
    }
  }

  setCreationGuard(guard: UserCreationGuard | null): void {
    this.creationGuard = guard;
  }

  static cacheKey(externalId: string): string[] {
    return ['user', externalId];
  }

  private ttl(): number {
    return this.cache.defaultTtlSeconds;
  }

  private static checkFields(fields: UserFields, field = ''): void {
    const problems: Array<{ field: string; problems: string[] }> = [];
    const size = (v: unknown) => Buffer.byteLength(JSON.stringify(v ?? null), 'utf8');
    const check = (name: string, v: unknown) => {
      if (v !== undefined && v !== null && size(v) > MAX_FREEFORM_BYTES) problems.push({ field: `${field}${name}`, problems: [`must be at most ${MAX_FREEFORM_BYTES} bytes of JSON`] });
    };
    check('profile.custom_data', fields.profile?.custom_data);
    check('settings.notifications', fields.settings?.notifications);
    check('settings.privacy', fields.settings?.privacy);
    if (problems.length) throw AppError.validation(problems);
  }

  private static checkId(externalId: string): void {
    if (!isExternalId(externalId)) {
      throw AppError.validation([{ field: 'external_id', problems: ['must be 1-128 characters of A-Z a-z 0-9 _ . @ : + = -'] }]);
    }
  }

  private async invalidate(externalId: string): Promise<void> {
    await this.cache.del(UsersService.cacheKey(externalId));
  }

  /** `trace`: the webhook event written with the change (absent for a deletion, which leaves no document to write it on). */
  private emitUpdated(externalId: string, created = false, trace?: EventTrace): void {
    this.events.emit('user.updated', { tenantId: TenantContext.requireTenantId('user.updated'), user_id: externalId, ...(created ? { created } : {}), ...(trace ? { trace } : {}) });
  }

  private emitAccessRevoked(externalId: string, reason: 'deactivated' | 'deleted', trace?: EventTrace): void {
    this.events.emit('user.access_revoked', { tenantId: TenantContext.requireTenantId('user.access_revoked'), user_id: externalId, reason, ...(trace ? { trace } : {}) });
  }

  /** Creates or updates a user by external id. */
  async upsert(externalId: string, fields: UserFields): Promise<{ user: UserView; created: boolean }> {
    UsersService.checkId(externalId);
    UsersService.checkFields(fields);
    if (this.creationGuard && !(await this.repo.findByExternalId(externalId))) await this.creationGuard(1);
    // The webhook event is written with the change (docs/webhooks.md, Durability).
    const trace = eventTrace('user.updated', { user_id: externalId });
    const { created } = await this.repo.upsert(externalId, fields, trace);
    await this.invalidate(externalId);
    this.emitUpdated(externalId, created, trace);
    return { user: await this.getFresh(externalId), created };
  }

  /** Upserts up to USER_BATCH_MAX users in one bulk write. */
  async upsertMany(items: Array<{ external_id: string } & UserFields>): Promise<{ created: string[]; updated: string[] }> {
    if (items.length === 0) return { created: [], updated: [] };
    if (items.length > USER_BATCH_MAX) throw AppError.validation([{ field: 'users', problems: [`at most ${USER_BATCH_MAX} users per batch`] }]);
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (!isExternalId(item.external_id)) {
        throw AppError.validation([{ field: `users.${i}.external_id`, problems: ['must be 1-128 characters of A-Z a-z 0-9 _ . @ : + = -'] }]);
      }
      if (seen.has(item.external_id)) throw AppError.validation([{ field: `users.${i}.external_id`, problems: ['appears more than once in the batch'] }]);
      seen.add(item.external_id);
      UsersService.checkFields(item, `users.${i}.`);
    });
    if (this.creationGuard) {
      const existing = new Set(await this.repo.existingIds([...seen]));
      const fresh = items.length - existing.size;
      if (fresh > 0) await this.creationGuard(fresh);
    }
    const now = new Date();
    const traces = new Map(items.map((i) => [i.external_id, eventTrace('user.updated', { user_id: i.external_id }, now)]));
    const { created } = await this.repo.upsertMany(items, traces);
    const createdSet = new Set(created);
    await this.cache.del(...items.map((i) => UsersService.cacheKey(i.external_id)));
    for (const i of items) this.emitUpdated(i.external_id, createdSet.has(i.external_id), traces.get(i.external_id));
    return { created, updated: items.map((i) => i.external_id).filter((id) => !createdSet.has(id)) };
  }

  async update(externalId: string, fields: UserFields): Promise<UserView> {
    UsersService.checkFields(fields);
    const trace = eventTrace('user.updated', { user_id: externalId });
    if (!isExternalId(externalId) || !(await this.repo.update(externalId, fields, trace))) throw AppError.notFound('User');
    await this.invalidate(externalId);
    this.emitUpdated(externalId, false, trace);
    return this.getFresh(externalId);
  }

  async setDeactivated(externalId: string, deactivated: boolean): Promise<UserView> {
    const now = new Date();
    const updated = eventTrace('user.updated', { user_id: externalId }, now);
    const revoked = deactivated ? eventTrace('user.deactivated', { user_id: externalId }, now) : undefined;
    if (!isExternalId(externalId) || !(await this.repo.setDeactivated(externalId, deactivated ? now : null, revoked ? [revoked, updated] : [updated]))) throw AppError.notFound('User');
    // Invalidated before the sockets are cut, so a reconnect already reads the new status.
    await this.invalidate(externalId);
    if (deactivated) this.emitAccessRevoked(externalId, 'deactivated', revoked);
    this.emitUpdated(externalId, false, updated);
    return this.getFresh(externalId);
  }

  /** Deletes the user and runs the deletion hooks (conversations drop them). */
  async remove(externalId: string): Promise<void> {
    // The deletion's events are written on a tombstone just before the delete (the user document cannot
    // carry them): a node killed after the delete still has them recorded (docs/webhooks.md, Durability).
    const now = new Date();
    const deleted = eventTrace('user.deleted', { user_id: externalId }, now);
    const updated = eventTrace('user.updated', { user_id: externalId }, now);
    const tombstone = this.tombstones ? () => this.tombstones!.record(externalId, now, [deleted, updated]) : undefined;
    if (!isExternalId(externalId) || !(await this.repo.remove(externalId, tombstone))) throw AppError.notFound('User');
    await this.invalidate(externalId);
    this.emitAccessRevoked(externalId, 'deleted', tombstone ? deleted : undefined);
    await this.events.emitAndWait('user.deleted', { tenantId: TenantContext.requireTenantId('users'), user_id: externalId });
    this.emitUpdated(externalId, false, tombstone ? updated : undefined);
  }

  private async getFresh(externalId: string): Promise<UserView> {
    const doc = await this.repo.findByExternalId(externalId);
    if (!doc) throw AppError.notFound('User');
    return this.withPendingLastSeen(toUserView(doc));
  }

  /** A last_seen this node has not written yet (LastSeenBuffer) is the user's real one. */
  private withPendingLastSeen(view: UserView): UserView {
    const pending = this.lastSeen.pending(TenantContext.requireTenantId('users'), view.external_id);
    if (!pending || (view.last_seen && Date.parse(view.last_seen) >= pending.getTime())) return view;
    return { ...view, last_seen: pending.toISOString() };
  }

  /** The user (cached), or null. Misses that arrive together are read with one query. */
  async find(externalId: string): Promise<UserView | null> {
    if (!isExternalId(externalId)) return null;
    const view = await this.cache.getOrLoad(UsersService.cacheKey(externalId), this.ttl(), async () => {
      const doc = await this.byExternalId.get(externalId);
      return doc ? toUserView(doc) : null;
    });
    return view && this.withPendingLastSeen(view);
  }

  async get(externalId: string): Promise<UserView> {
    const user = await this.find(externalId);
    if (!user) throw AppError.notFound('User');
    return user;
  }

  /** The user if it exists and is active: 404 when missing, 403 when deactivated. */
  async requireActive(externalId: string): Promise<UserView> {
    const user = await this.get(externalId);
    if (user.deactivated) throw new AppError(ErrorCode.Forbidden, 'User is deactivated');
    return user;
  }

  /** Which of these ids are existing, active users (for membership changes). */
  activeIds(externalIds: string[]): Promise<string[]> {
    return this.repo.activeIds(externalIds.filter(isExternalId));
  }

  async search(prefix: string, opts: { cursor?: string; limit?: number; includeDeactivated?: boolean }): Promise<Page<UserView>> {
    const limit = Math.min(Math.max(opts.limit ?? 20, 1), 100);
    const after = decodeCursor(opts.cursor, isCursorAfter);
    const docs = await this.repo.search(prefix.trim(), { afterId: after?.a, limit: limit + 1, includeDeactivated: opts.includeDeactivated ?? false });
    const page = docs.slice(0, limit);
    return {
      data: page.map((d) => this.withPendingLastSeen(toUserView(d))),
      next_cursor: docs.length > limit ? encodeCursor({ a: String(page[page.length - 1]._id) }) : null,
    };
  }

  /**
   * Moves last_seen forward (presence, on the offline change). Buffered and written in batches
   * (LastSeenBuffer); this node's reads see it at once. The cached view is not invalidated: presence
   * is the live signal, and reads overlay the pending time.
   */
  touchLastSeen(externalIds: string[], at = new Date()): Promise<void> {
    return this.lastSeen.record(TenantContext.requireTenantId('last_seen'), externalIds.filter(isExternalId), at);
  }
}
