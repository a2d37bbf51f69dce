import type { EventTrace } from '@chat/database';
import type { SweptTraceDoc, TracedCollection } from './swept-traces.repository';
import type { WebhookEventInput } from './webhook-outbox';

/* The crash sweeper's sources and items (OutboxSweeper): what each durable trace gives as a sweep item. */

/** One logged membership change, as a sweep item (created_at: when it happened). */
export interface MemberChangeItem {
  created_at: Date;
  conversation_id: string;
  v: number;
  user_ids: string[];
  by: string | null;
}

/** One logged role change of one member (MemberChangeDoc.roles). */
export interface RoleChangeItem {
  created_at: Date;
  conversation_id: string;
  v: number;
  user_id: string;
  role: string;
  by: string | null;
}

/** One event trace (EventTrace) and the event type it gives. */
export interface TraceItem {
  created_at: Date;
  trace: EventTrace;
  type: string;
}

/**
 * The event a trace gives: its own type, except a user's `user.updated` written by the write that
 * created the user (at its created_at), which is `user.created` (the fast path learns it from the upsert).
 */
export function tracedType(collection: TracedCollection, t: EventTrace, doc: SweptTraceDoc): string {
  if (collection === 'users' && t.type === 'user.updated' && doc.created_at && new Date(doc.created_at).getTime() === new Date(t.at).getTime()) return 'user.created';
  return t.type;
}

export interface SweepSource {
  /** The event types it records (it runs for a tenant only when an endpoint wants one of them). */
  types: readonly string[];
  /** The items whose change time (see `at`) is in [from, to), oldest change first. */
  page(from: Date, to: Date, limit: number): Promise<Array<{ created_at: Date }>>;
  /** When the item's change happened: what `page` ranges and sorts on. */
  at(item: { created_at: Date }): Date;
  event(tenantId: string, item: { created_at: Date }): WebhookEventInput | WebhookEventInput[] | null;
}
