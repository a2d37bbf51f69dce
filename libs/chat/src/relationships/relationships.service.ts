import { Injectable } from '@nestjs/common';
import { CacheService } from '@chat/cache';
import { eventTrace } from '@chat/database';
import { AppError } from '@chat/errors';
import { TenantContext } from '@chat/tenancy';
import { ChatEventBus } from '../events/chat-events';
import { RELATIONSHIP_TYPES, type RelationshipType } from '@chat/contracts';
import { UserRelationship } from '../users/user.schema';
import { UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';

export const MAX_RELATIONSHIPS = 5000;
const CAS_ATTEMPTS = 10;

export interface RelationshipView {
  user_id: string;
  type: RelationshipType;
  created_at: string;
}

const toView = (r: UserRelationship): RelationshipView => ({ user_id: r.user_id, type: r.type, created_at: new Date(r.created_at).toISOString() });

/**
 * Friend, block and mute, one entry per (user, type), stored on the user. A block removes a friend
 * entry. Writes are compare-and-set on the user's rel_version (retried), which keeps concurrent
 * changes from losing each other on FerretDB, where $pull cannot match part of an element.
 */
@Injectable()
export class RelationshipsService {
  constructor(
    private readonly repo: UsersRepository,
    private readonly users: UsersService,
    private readonly cache: CacheService,
    private readonly events: ChatEventBus,
  ) {}

  static blockedKey(userId: string): string[] {
    return ['blocks', userId];
  }

  private async mutate(userId: string, change: (current: UserRelationship[]) => UserRelationship[] | null): Promise<UserRelationship[]> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const doc = await this.repo.relationshipsOf(userId);
      if (!doc) throw AppError.notFound('User');
      const current = doc.relationships ?? [];
      const next = change(current);
      if (next === null) return current; // nothing to change
      // The webhook event is written with the change (docs/webhooks.md, Durability).
      const trace = eventTrace('user.updated', { user_id: userId });
      if (await this.repo.casRelationships(userId, doc.rel_version ?? 0, next, trace)) {
        await this.cache.del(RelationshipsService.blockedKey(userId));
        this.events.emit('user.updated', { tenantId: TenantContext.requireTenantId('relationships'), user_id: userId, trace });
        return next;
      }
      await new Promise((r) => setTimeout(r, 1 + Math.random() * 5 * (attempt + 1)));
    }
    throw AppError.conflict('Relationships changed concurrently, retry');
  }

  async set(userId: string, targetId: string, type: RelationshipType): Promise<RelationshipView> {
    if (!RELATIONSHIP_TYPES.includes(type)) throw AppError.validation([{ field: 'type', problems: [`must be one of ${RELATIONSHIP_TYPES.join(', ')}`] }]);
    if (userId === targetId) throw AppError.validation([{ field: 'user_id', problems: ['cannot be yourself'] }]);
    if (!(await this.users.find(targetId))) throw AppError.notFound('User');
    const next = await this.mutate(userId, (current) => {
      if (current.some((r) => r.user_id === targetId && r.type === type)) return null;
      if (current.length >= MAX_RELATIONSHIPS) throw AppError.conflict(`At most ${MAX_RELATIONSHIPS} relationships per user`);
      // Blocking someone ends the friendship; befriending a blocked user is refused rather than guessed at.
      if (type === 'friend' && current.some((r) => r.user_id === targetId && r.type === 'blocked')) {
        throw AppError.conflict('Unblock this user before adding them as a friend');
      }
      const kept = type === 'blocked' ? current.filter((r) => !(r.user_id === targetId && r.type === 'friend')) : current;
      return [...kept, { user_id: targetId, type, created_at: new Date() }];
    });
    return toView(next.find((r) => r.user_id === targetId && r.type === type)!);
  }

  /** Idempotent: removing an absent relationship is not an error. */
  async remove(userId: string, targetId: string, type: RelationshipType): Promise<void> {
    if (!RELATIONSHIP_TYPES.includes(type)) throw AppError.validation([{ field: 'type', problems: [`must be one of ${RELATIONSHIP_TYPES.join(', ')}`] }]);
    await this.mutate(userId, (current) => {
      const next = current.filter((r) => !(r.user_id === targetId && r.type === type));
      return next.length === current.length ? null : next;
    });
  }

  async list(userId: string, type?: RelationshipType): Promise<RelationshipView[]> {
    const doc = await this.repo.relationshipsOf(userId);
    if (!doc) throw AppError.notFound('User');
    return (doc.relationships ?? []).filter((r) => !type || r.type === type).map(toView);
  }

  /** The ids this user blocked (cached; invalidated by every relationships write of the user). */
  blockedBy(blockerId: string): Promise<string[]> {
    return this.cache.getOrLoad(RelationshipsService.blockedKey(blockerId), this.cache.defaultTtlSeconds, async () => {
      const doc = await this.repo.relationshipsOf(blockerId);
      return (doc?.relationships ?? []).filter((r) => r.type === 'blocked').map((r) => r.user_id);
    });
  }

  /** True when `blockerId` has blocked `userId`. */
  async isBlocked(blockerId: string, userId: string): Promise<boolean> {
    return (await this.blockedBy(blockerId)).includes(userId);
  }
}
