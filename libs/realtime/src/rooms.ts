import { TenantId } from '@chat/tenancy';

/**
 * socket.io room names. Every name starts with the tenant (whose id cannot contain ':'), so no two
 * tenants can ever share a room, whatever their user or conversation ids look like.
 */
export const Rooms = {
  /** Every socket of a tenant: used to cut a suspended tenant off. */
  tenant(tenantId: TenantId): string {
    return `t:${tenantId}`;
  },
  /** Every socket of one user (all devices, all nodes). */
  user(tenantId: TenantId, userId: string): string {
    return `t:${tenantId}:u:${userId}`;
  },
  /** Every socket of every member of a conversation. */
  conversation(tenantId: TenantId, conversationId: string): string {
    return `t:${tenantId}:c:${conversationId}`;
  },
  users(tenantId: TenantId, userIds: readonly string[]): string[] {
    return userIds.map((u) => Rooms.user(tenantId, u));
  },
  conversations(tenantId: TenantId, conversationIds: readonly string[]): string[] {
    return conversationIds.map((c) => Rooms.conversation(tenantId, c));
  },
  /** Parses a room name back; null for rooms that are not ours (e.g. the socket's own id room). */
  parse(room: string): { tenantId: string; kind: 'tenant' | 'user' | 'conversation'; id?: string } | null {
    const m = /^t:([A-Za-z0-9_-]{1,64})(?::([uc]):(.+))?$/s.exec(room);
    if (!m) return null;
    if (!m[2]) return { tenantId: m[1], kind: 'tenant' };
    return { tenantId: m[1], kind: m[2] === 'u' ? 'user' : 'conversation', id: m[3] };
  },
};
