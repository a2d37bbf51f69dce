import type { AuditActorType } from '@chat/audit';

/**
 * Who takes a moderation action: an end user (an owner or admin of the conversation: checked), the
 * SaaS client's server (API key: trusted) or a platform admin (admin API: trusted).
 */
export type ModerationActor = { kind: 'user'; userId: string } | { kind: 'server'; keyId: string } | { kind: 'admin'; adminId: string };

/** The actor as stored on moderation records and sent in webhook events (`by`). */
export interface ActorRef {
  type: 'user' | 'api_key' | 'admin';
  id: string;
}

export function actorRef(a: ModerationActor): ActorRef {
  if (a.kind === 'user') return { type: 'user', id: a.userId };
  if (a.kind === 'server') return { type: 'api_key', id: a.keyId };
  return { type: 'admin', id: a.adminId };
}

export function auditActor(a: ModerationActor): { type: AuditActorType; id: string } {
  const r = actorRef(a);
  return { type: r.type, id: r.id };
}
