import { Injectable, Logger } from '@nestjs/common';
import type { Server } from 'socket.io';
import { ConversationAccess, UsersService } from '@chat/chat';
import { PresenceChange, Rooms } from '@chat/realtime';
import { TenantContext } from '@chat/tenancy';
import { emitEvent } from './server-events';

/**
 * Presence events to the rooms of the user's conversations. The audience is read from the user's
 * sockets on this node, or (for the offline event of a user's last socket here) from the rooms it
 * left, or, for users swept from a dead node, from the membership cache. Going offline also records
 * last_seen on the user.
 */
@Injectable()
export class PresenceFanout {
  private readonly logger = new Logger('RealtimeGateway');
  /** Conversation rooms of a user's last socket on this node, kept briefly for the offline presence event. */
  private readonly departedRooms = new Map<string, { rooms: string[]; at: number }>();

  constructor(
    private readonly access: ConversationAccess,
    private readonly users: UsersService,
  ) {}

  async onPresenceChange(server: Server, c: PresenceChange): Promise<void> {
    try {
      const key = `${c.tenantId}:${c.userId}`;
      const userRoom = Rooms.user(c.tenantId, c.userId);
      let rooms: string[] | undefined;
      const local = await server.local.in(userRoom).fetchSockets();
      if (local.length) rooms = [...new Set(local.flatMap((s) => [...s.rooms].filter((r) => Rooms.parse(r)?.kind === 'conversation')))];
      else if (c.status === 'offline' && this.departedRooms.has(key)) rooms = this.departedRooms.get(key)!.rooms;
      this.departedRooms.delete(key);
      if (!rooms) {
        // Swept from a dead node: nobody here knows their rooms.
        const ids = await TenantContext.run({ tenantId: c.tenantId }, () => this.access.memberConversationIds(c.userId));
        rooms = Rooms.conversations(c.tenantId, ids);
      }
      if (c.status === 'offline') {
        await TenantContext.run({ tenantId: c.tenantId }, () => this.users.touchLastSeen([c.userId], c.last_seen ? new Date(c.last_seen) : new Date()));
      }
      if (!rooms.length) return;
      const body = c.status === 'online' ? { user_id: c.userId, status: 'online' } : { user_id: c.userId, status: 'offline', last_seen: c.last_seen };
      emitEvent(server.to(rooms).except(userRoom), 'presence', body);
    } catch (err) {
      this.logger.warn(`presence fan-out failed: ${(err as Error).message}`);
    }
  }

  /** Entries are consumed by the offline event; those of users still online elsewhere expire here. */
  rememberDeparted(key: string, rooms: string[]): void {
    const now = Date.now();
    if (this.departedRooms.size >= 1000) {
      for (const [k, v] of this.departedRooms) if (now - v.at > 60_000) this.departedRooms.delete(k);
    }
    this.departedRooms.set(key, { rooms, at: now });
  }
}
