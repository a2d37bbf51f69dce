import type { UserBansService } from './user-bans.service';

/** Who bans through the port: the SaaS server's API key or a platform admin. */
export interface UserBanPortActor {
  type: 'api_key' | 'admin';
  id: string;
}

/** What another lib needs to ban a user tenant-wide on a moderator's behalf. */
export interface UserBanPort {
  ban(userId: string, opts: { reason: string | null; expiresAt: Date | null; by: UserBanPortActor }): Promise<void>;
}

/**
 * UserBansService behind a small port, for libs that must not depend on moderation's types (the
 * report queue's `ban_user` action: provide this as its ban port). The ban is the same as any other:
 * sockets cut, requests refused, audited, `moderation.user_banned` webhook.
 */
export function userBanPort(bans: UserBansService): UserBanPort {
  return {
    async ban(userId, opts) {
      const actor = opts.by.type === 'admin' ? { kind: 'admin' as const, adminId: opts.by.id } : { kind: 'server' as const, keyId: opts.by.id };
      await bans.ban(actor, userId, { reason: opts.reason, expires_at: opts.expiresAt ? opts.expiresAt.toISOString() : null });
    },
  };
}
