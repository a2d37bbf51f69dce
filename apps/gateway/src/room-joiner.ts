import { Injectable } from '@nestjs/common';
import { UserTokenService } from '@chat/auth';
import { ConversationAccess } from '@chat/chat';
import { PlatformEvents } from '@chat/platform';
import { PresenceTracker, Rooms } from '@chat/realtime';
import { TenantContext, TenantId } from '@chat/tenancy';
import type { GatewaySocket, SocketSession } from './socket-session';

/**
 * Room joining at connect: the tenant and user rooms at once, then the conversation rooms read through
 * the membership cache, then the user counts as online and the socket gets `session:ready`. A member
 * removal that races a join marks the joining sockets, which then re-read their rooms from the
 * database (the removal may have been read before it was written).
 */
@Injectable()
export class RoomJoiner {
  /** Sockets still joining their rooms, by `${tenant}:${user}` (see member removal races). */
  private readonly joining = new Map<string, Set<SocketSession>>();

  constructor(
    private readonly access: ConversationAccess,
    private readonly tokens: UserTokenService,
    private readonly presence: PresenceTracker,
    private readonly platformEvents: PlatformEvents,
  ) {}

  /** Removals raised on any node (or by an api process) mark this node's joining sockets; returns the unsubscribe. */
  listen(): () => void {
    return this.platformEvents.on('conversation.members_removed', ({ tenantId, userIds }) => {
      if (Array.isArray(userIds)) this.markJoiningForRecheck(tenantId, userIds);
    });
  }

  /** Joins the tenant, user and conversation rooms, then counts the user online. */
  async joinRooms(socket: GatewaySocket, session: SocketSession): Promise<void> {
    const { tenantId, userId } = session;
    const key = `${tenantId}:${userId}`;
    socket.join([Rooms.tenant(tenantId), Rooms.user(tenantId, userId)]);
    const set = this.joining.get(key) ?? new Set();
    set.add(session);
    this.joining.set(key, set);
    try {
      // The user is checked again now that the socket is in its user room: a deactivation whose cut
      // (user.access_revoked) went to that room before this socket joined it is seen here instead.
      const [ids] = await Promise.all([
        TenantContext.run({ tenantId, actor: { type: 'user', id: userId } }, () => this.access.memberConversationIds(userId)),
        this.tokens.requireAccess(tenantId, userId),
      ]);
      socket.join(Rooms.conversations(tenantId, ids));
      // A removal that happened while we were reading may have been read before it was written: re-read
      // from the database (not the cache, which may still hold what we just read).
      if (session.recheckRooms) {
        const now = new Set(await TenantContext.run({ tenantId }, () => this.access.memberConversationIds(userId, { fresh: true })));
        for (const id of ids) if (!now.has(id)) socket.leave(Rooms.conversation(tenantId, id));
      }
    } finally {
      set.delete(session);
      if (!set.size) this.joining.delete(key);
    }
    if (!socket.connected) return;
    session.presenceCounted = true;
    await this.presence.connect(tenantId, userId);
    // From here on live events reach this socket: a client syncs after this (or any acked event).
    const conversations = [...socket.rooms].filter((r) => Rooms.parse(r)?.kind === 'conversation').length;
    socket.emit('session:ready', { user_id: userId, conversations });
  }

  /** Called by the fan-out when members are removed: sockets still joining must re-read their rooms, on every node (this one at once). */
  membersRemoved(tenantId: TenantId, userIds: string[]): void {
    void this.platformEvents.publish('conversation.members_removed', { tenantId, userIds });
  }

  private markJoiningForRecheck(tenantId: TenantId, userIds: string[]): void {
    for (const u of userIds) for (const s of this.joining.get(`${tenantId}:${u}`) ?? []) s.recheckRooms = true;
  }
}
