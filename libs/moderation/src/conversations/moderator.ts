import type { ConversationView, ParticipantView } from '@chat/chat';
import { AppError } from '@chat/errors';
import type { ModerationActor } from '../common/moderation-actor';

const RANK = { owner: 3, admin: 2, member: 1 } as const;

/**
 * Who may moderate a conversation: the server (API key) and platform admins always; an end user only
 * as an owner or admin of a group or channel, and only on members of a lower rank (an admin moderates
 * members, an owner admins and members). Deny by default.
 */
export function requireModerator(conv: ConversationView, actor: ModerationActor, target?: ParticipantView | null): void {
  if (actor.kind !== 'user') return;
  const me = conv.participants.find((p) => p.user_id === actor.userId);
  if (!me) throw AppError.notFound('Conversation');
  if (conv.type === 'direct') throw AppError.forbidden('A direct conversation has no moderators');
  if (RANK[me.role] < RANK.admin) throw AppError.forbidden('Only owners and admins can moderate this conversation');
  if (target && RANK[target.role] >= RANK[me.role]) throw AppError.forbidden(`A${me.role === 'admin' ? 'n admin' : 'n owner'} cannot moderate a member of the same or a higher role`);
}

/** Owners and admins are exempt from slow mode (as in Stream). */
export function exemptFromSlowMode(p: ParticipantView | undefined): boolean {
  return p?.role === 'owner' || p?.role === 'admin';
}
