import { randomUUID } from 'node:crypto';
import { Schema } from 'mongoose';

/**
 * The durable trace of a change's event (docs/webhooks.md, "Durability"): written on the changed
 * document in the same update as the change itself, so the trace exists exactly when the change does.
 * The service raises the event with the same entry (fast path); the webhook sweeper finds the entries
 * of a time range after a crash. `key` names the event (the webhook event id derives from it), so both
 * paths record one row. `data`: ids and metadata only, never message content.
 */
export interface EventTrace {
  type: string;
  key: string;
  at: Date;
  data: Record<string, unknown>;
}

/** The field of a traced document holding its latest traces, oldest first. */
export const EVENT_TRACE_FIELD = 'event_trace';
/** How many traces a document keeps: the sweeper only looks back WEBHOOK_SWEEP_LOOKBACK_SECONDS. */
export const EVENT_TRACE_KEPT = 20;

/** A new trace; `key` defaults to a fresh id (an event with no natural name). */
export function eventTrace(type: string, data: Record<string, unknown>, at = new Date(), key: string = randomUUID()): EventTrace {
  return { type, key, at, data };
}

/** The schema path of `event_trace` for a traced collection's (strict) schema. */
export const eventTraceSchemaPath = () => ({
  type: [new Schema<EventTrace>({ type: { type: String }, key: String, at: Date, data: Schema.Types.Mixed }, { _id: false, minimize: false })],
  default: undefined,
});

type UpdateOps = Record<string, Record<string, unknown> | undefined>;

/** `a` and `b` merged operator by operator (each names distinct paths). */
export function mergeUpdates<T extends object>(a: T, b: UpdateOps): T {
  const out = { ...a } as Record<string, Record<string, unknown> | undefined>;
  for (const [op, fields] of Object.entries(b)) out[op] = { ...(out[op] ?? {}), ...(fields ?? {}) };
  return out as T;
}
