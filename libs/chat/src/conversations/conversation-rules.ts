import { AppError } from '@chat/errors';
import type { ParticipantRole } from '@chat/contracts';
import { ParticipantDoc } from './conversation.schema';
import { ConversationRecord } from './conversations.repository';
import { conversationCacheKey, memberConversationIdsCacheKey } from './conversation-access';

/** Who performs a change: an end user (permissions apply) or the SaaS client's server (API key: trusted). */
export type Actor = { kind: 'user'; userId: string } | { kind: 'server' };

export const RANK: Record<ParticipantRole, number> = { owner: 3, admin: 2, member: 1 };

export function newParticipant(userId: string, role: ParticipantRole, lastSeq = 0): ParticipantDoc {
  return {
    user_id: userId,
    role,
    joined_at: new Date(),
    joined_seq: lastSeq,
    last_read_seq: lastSeq,
    last_delivered_seq: lastSeq,
    settings: { muted: false, pinned: false },
  };
}

/** Cache keys to drop after a membership change: the conversation's view and the lists of the users who joined or left. */
export function membershipKeys(conversationId: string, before: ParticipantDoc[], after: ParticipantDoc[]): string[][] {
  const was = new Set(before.map((p) => p.user_id));
  const is = new Set(after.map((p) => p.user_id));
  const moved = [...[...is].filter((u) => !was.has(u)), ...[...was].filter((u) => !is.has(u))];
  return [conversationCacheKey(conversationId), ...moved.map((u) => memberConversationIdsCacheKey(u))];
}

/** The actor's membership; 404 for non-members (no existence leak). Server actors pass. */
export function actorEntry(doc: ConversationRecord, actor: Actor): ParticipantDoc | null {
  if (actor.kind === 'server') return null;
  const me = doc.participants.find((p) => p.user_id === actor.userId);
  if (!me) throw AppError.notFound('Conversation');
  return me;
}

export function requireManageable(doc: ConversationRecord, actor: Actor, what: string): ParticipantDoc | null {
  const me = actorEntry(doc, actor);
  if (doc.type === 'direct') throw AppError.forbidden(`A direct conversation's ${what} cannot be changed`);
  if (me && RANK[me.role] < RANK.admin) throw AppError.forbidden(`Only owners and admins can change ${what}`);
  return me;
}

export function ownersOtherThan(doc: { participants: ParticipantDoc[] }, userId: string): number {
  return doc.participants.filter((p) => p.role === 'owner' && p.user_id !== userId).length;
}
