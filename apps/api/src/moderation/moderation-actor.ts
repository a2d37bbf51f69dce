import type { ApiKeyPrincipal, UserPrincipal } from '@chat/auth';
import type { ModerationActor } from '@chat/moderation';

/** An API key acts as the SaaS server (trusted); an end user as themselves (owner/admin rules apply). */
export function moderationActor(p: ApiKeyPrincipal | UserPrincipal): ModerationActor {
  return p.kind === 'api_key' ? { kind: 'server', keyId: p.keyId } : { kind: 'user', userId: p.userId };
}
