import { Schema, Types } from 'mongoose';
import type { WebhookDeliveryStatus } from '@chat/contracts';
import type { ReportMeta } from './message-events';
import { tenantGuardPlugin } from '@chat/tenancy';
import { ferretDbEqualityIndexes, mongoOnlyIndex } from '@chat/database';

/** An application's webhook endpoint. The secret must be shown to sign, so it is sealed (SecretBox), not hashed. */
export interface WebhookEndpointDoc {
  _id: Types.ObjectId;
  tenant_id: string;
  application_id: string;
  url: string;
  /** Event types, or `*`. */
  events: string[];
  active: boolean;
  description: string | null;
  secret_enc: string;
  /** The secret before the last rotation: it signs too until previous_secret_expires_at. */
  previous_secret_enc: string | null;
  previous_secret_expires_at: Date | null;
  /** Why the platform turned the endpoint off (a 410 answer), null when on or turned off by hand. */
  disabled_reason: string | null;
  deleted_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const WEBHOOK_ENDPOINT_MODEL = 'WebhookEndpoint';
export const WebhookEndpointSchema = new Schema<WebhookEndpointDoc>(
  {
    tenant_id: { type: String, required: true },
    application_id: { type: String, required: true },
    url: { type: String, required: true },
    events: { type: [String], required: true },
    active: { type: Boolean, required: true },
    description: { type: String, default: null },
    secret_enc: { type: String, required: true },
    previous_secret_enc: { type: String, default: null },
    previous_secret_expires_at: { type: Date, default: null },
    disabled_reason: { type: String, default: null },
    deleted_at: { type: Date, default: null },
  },
  { collection: 'webhook_endpoints', timestamps: { createdAt: 'created_at', updatedAt: 'updated_at' }, versionKey: false },
);
WebhookEndpointSchema.index({ tenant_id: 1, application_id: 1, _id: -1 });

/**
 * The outbox: one row per (event, endpoint). Its _id is derived from the change that caused the event
 * and the endpoint, so recording it twice (fast path and crash sweeper, two nodes) is one row. A row
 * waiting for delivery (pending) lives in `webhook_pending`; once finished (delivered, dead, cancelled)
 * it moves to the log, `webhook_deliveries` (kept WEBHOOK_HISTORY_DAYS), so batched writes over the
 * pending rows never scan the log (FerretDB serves an `$in` filter by reading the whole collection).
 */
export interface WebhookDeliveryDoc {
  _id: string;
  tenant_id: string;
  application_id: string;
  endpoint_id: string;
  /** `X-Webhook-Id`: the same for every attempt and every replay of this event. */
  event_id: string;
  type: string;
  /** The JSON body sent (ids and metadata only). */
  payload: Record<string, unknown>;
  status: WebhookDeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  /** Retries stop (dead letter) after this; a replay moves it. */
  retry_until: Date;
  /** A node holds the attempt until then (lease); 0 epoch: free. */
  lease_until: Date;
  lease_owner: string | null;
  /**
   * True while a lease was taken and not released by an outcome (a retry's outcome keeps it, until the
   * retry is due: WebhookDeliveriesRepository.finish): the due-rows scan asks for `leased: false` by
   * equality, which FerretDB pushes down to PostgreSQL, so it does not decode the rows in flight, in a
   * node's backlog or waiting for a retry. Rows whose lease ran out (true, lease_until past) and rows written
   * before this field are found by the full scan (DueRowScans).
   */
  leased?: boolean;
  /**
   * True while the row waits for its endpoint's open circuit (EndpointBreakers), free of any lease: the
   * due-rows scans leave it out and it is drained by endpoint once the circuit closes, or by another node
   * once the parking node's record ran out (ParkedEndpoints). Written `false` on every other row, so the
   * due-rows scans ask `parked: false` by equality, which a GIN index serves on FerretDB
   * (ferretDbEqualityIndexes below): a long outage's parked rows cost them nothing, not a pass of
   * PostgreSQL over them. Rows written before this field was always written are found by the full scans
   * that ask `$ne: true` instead (at start and every LEGACY_SCAN_EVERY_MS: FullScanSchedule).
   */
  parked?: boolean;
  /**
   * The bucket the row was last parked into and the slot of retry windows it belongs to (ParkedBuckets):
   * the drain reads one bucket by equality, the expiry one slot; both stay when the row is claimed (its
   * outcome's delete reads by the bucket too), and a row parked again gets new ones. Absent on rows never
   * parked, and on rows parked before buckets existed (drained and expired the old way).
   */
  parked_bucket?: string;
  parked_slot?: number;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  /**
   * The first attempt, when it was a 2xx (the common outcome), kept on the row instead of as a
   * webhook_attempts document: one write fewer per delivered event (bench/RESULTS.md, "First-try
   * attempts folded into the delivery row"). Every other attempt has its own document, as do first
   * attempts written before this field (WebhookDeliveriesRepository.attemptsOf lists both alike).
   */
  first_attempt?: FoldedAttempt;
  created_at: Date;
  updated_at: Date;
}

/** A 2xx first attempt as kept on its row: attempt 1, no error. */
export interface FoldedAttempt {
  at: Date;
  status_code: number;
  latency_ms: number;
}

export const WEBHOOK_DELIVERY_MODEL = 'WebhookDelivery';
export const WebhookDeliverySchema = new Schema<WebhookDeliveryDoc>(
  {
    _id: { type: String, required: true },
    tenant_id: { type: String, required: true },
    application_id: { type: String, required: true },
    endpoint_id: { type: String, required: true },
    event_id: { type: String, required: true },
    type: { type: String, required: true },
    payload: { type: Schema.Types.Mixed, required: true },
    status: { type: String, required: true },
    attempts: { type: Number, required: true },
    next_attempt_at: { type: Date, required: true },
    retry_until: { type: Date, required: true },
    lease_until: { type: Date, required: true },
    lease_owner: { type: String, default: null },
    leased: { type: Boolean, default: false },
    parked: { type: Boolean, default: undefined },
    parked_bucket: { type: String, default: undefined },
    parked_slot: { type: Number, default: undefined },
    last_status_code: { type: Number, default: null },
    last_error: { type: String, default: null },
    delivered_at: { type: Date, default: null },
    first_attempt: { type: Schema.Types.Mixed, default: undefined },
    created_at: { type: Date, required: true },
    updated_at: { type: Date, required: true },
  },
  { collection: 'webhook_deliveries', versionKey: false, minimize: false, _id: false },
);
// Rows written before pending rows had their own collection were found by this (WebhookDeliveriesRepository.movePendingFromLog).
WebhookDeliverySchema.index({ status: 1, next_attempt_at: 1 });
// Listing, dead letters and replay-since per endpoint, newest first.
WebhookDeliverySchema.index({ endpoint_id: 1, created_at: -1, _id: -1 });

/** Pending rows (see WebhookDeliveryDoc): the same documents, apart from the log. */
export const WEBHOOK_PENDING_MODEL = 'WebhookPending';
export const WebhookPendingSchema = WebhookDeliverySchema.clone();
WebhookPendingSchema.set('collection', 'webhook_pending');
// The due-rows scan (status, parked $ne true, next_attempt_at range, sorted by it): on MongoDB the parked
// rows are outside its bounds, not walked (FerretDB pushes the equalities down instead).
WebhookPendingSchema.removeIndex({ status: 1, next_attempt_at: 1 });
WebhookPendingSchema.index({ status: 1, parked: 1, next_attempt_at: 1 });
// The expiry's slot reads and the drain's bucket reads (ParkedEndpoints; both ask `parked: true`): on
// MongoDB they walk one slot's or one bucket's rows, and the expiry's read of the rows not parked
// (`parked $ne true`) walks only those, not the outage's parked rows. FerretDB v1.24.2 cannot use it (it
// pushes equalities as jsonb containment, which no btree serves) and PostgreSQL filters the table for
// each, returning only the matching rows (without the GIN indexes below).
WebhookPendingSchema.index({ endpoint_id: 1, parked: 1, parked_slot: 1, parked_bucket: 1 });
// On FerretDB only, GIN indexes for the same reads by equality (the scans' `parked: false`, the
// drain's bucket, the expiry's slot), so their cost does not grow with an outage's parked rows.
ferretDbEqualityIndexes(WebhookPendingSchema, ['parked', 'parked_bucket', 'parked_slot']);

/** One HTTP attempt of a delivery (status, latency, response code), for the admin API. */
export interface WebhookAttemptDoc {
  _id: Types.ObjectId;
  delivery_id: string;
  endpoint_id: string;
  tenant_id: string;
  attempt: number;
  at: Date;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  node: string;
}
/** An attempt as the admin API lists it (a document, or a row's folded first attempt). */
export type AttemptRecord = Pick<WebhookAttemptDoc, 'attempt' | 'at' | 'status_code' | 'latency_ms' | 'error'>;
export const WEBHOOK_ATTEMPT_MODEL = 'WebhookAttempt';
export const WebhookAttemptSchema = new Schema<WebhookAttemptDoc>(
  {
    delivery_id: { type: String, required: true },
    endpoint_id: { type: String, required: true },
    tenant_id: { type: String, required: true },
    attempt: { type: Number, required: true },
    at: { type: Date, required: true },
    status_code: { type: Number, default: null },
    latency_ms: { type: Number, required: true },
    error: { type: String, default: null },
    node: { type: String, required: true },
  },
  { collection: 'webhook_attempts', versionKey: false },
);
WebhookAttemptSchema.index({ delivery_id: 1, at: 1 });
// History purge.
WebhookAttemptSchema.index({ at: 1 });

/** The crash sweeper's narrow view of `messages` (owned by chat): metadata only, never content. */
export interface SweptMessageDoc {
  _id: Types.ObjectId;
  tenant_id: string;
  conversation_id: string;
  seq: number;
  sender_id: string;
  content: { type?: string } | null;
  /** `system` for system messages (no content). */
  type?: string;
  mentions: string[];
  thread: { parent_id: string | null; reply_count?: number } | null;
  gap: boolean;
  created_at: Date;
  edited_at?: Date | null;
  deleted_at?: Date | null;
}
export const SWEPT_MESSAGE_MODEL = 'WebhookSweptMessage';
export const SweptMessageSchema = new Schema<SweptMessageDoc>(
  {
    tenant_id: { type: String, required: true },
    conversation_id: { type: String, required: true },
    created_at: { type: Date, required: true },
  },
  { collection: 'messages', versionKey: false, strict: false, autoCreate: false },
);
// MongoDB only (mongoOnlyIndex, libs/database): the sweeps are ranges and sorts, which FerretDB never
// pushes down to PostgreSQL, so it never reads these indexes; there they would only cost every write.
// Same index as the retention view declares: the sweep is a range on created_at inside one tenant.
mongoOnlyIndex(SweptMessageSchema, { tenant_id: 1, created_at: 1 });
// Edits for message.updated (deletes use the retention view's {tenant_id, deleted_at}, declared here too).
mongoOnlyIndex(SweptMessageSchema, { tenant_id: 1, edited_at: 1 });
mongoOnlyIndex(SweptMessageSchema, { tenant_id: 1, deleted_at: 1 });
SweptMessageSchema.plugin(tenantGuardPlugin);

/** The crash sweeper's narrow view of `message_reports` (owned by libs/reports): for `moderation.report.*`. */
export type SweptReportDoc = ReportMeta & { _id: Types.ObjectId; tenant_id: string };
export const SWEPT_REPORT_MODEL = 'WebhookSweptReport';
export const SweptReportSchema = new Schema<SweptReportDoc>(
  {
    tenant_id: { type: String, required: true },
    created_at: { type: Date, required: true },
  },
  { collection: 'message_reports', versionKey: false, strict: false, autoCreate: false },
);
SweptReportSchema.index({ tenant_id: 1, created_at: 1 });
SweptReportSchema.index({ tenant_id: 1, 'resolution.at': 1 });
SweptReportSchema.plugin(tenantGuardPlugin);

/** The crash sweeper's narrow view of `conversations` (owned by chat): for `conversation.created`. */
export interface SweptConversationDoc {
  _id: Types.ObjectId;
  tenant_id: string;
  type: string;
  participants: Array<{ user_id: string; settings?: { muted?: boolean }; last_delivered_seq?: number }>;
  metadata?: { name?: string | null };
  member_changes?: Array<{ v: number; added: string[]; removed: string[]; by: string | null; at: Date; roles?: Array<{ user_id: string; role: string }> }>;
  created_at: Date;
}
export const SWEPT_CONVERSATION_MODEL = 'WebhookSweptConversation';
export const SweptConversationSchema = new Schema<SweptConversationDoc>(
  {
    tenant_id: { type: String, required: true },
    created_at: { type: Date, required: true },
  },
  { collection: 'conversations', versionKey: false, strict: false, autoCreate: false },
);
// MongoDB only (mongoOnlyIndex, libs/database), like the messages view's: ranges (and a dotted field)
// FerretDB never pushes down, so it never reads them; the last_message flush would write them at every send.
mongoOnlyIndex(SweptConversationSchema, { tenant_id: 1, created_at: 1 });
// Membership changes for member.added / member.removed / member.role_changed: a range on the logged changes' times.
mongoOnlyIndex(SweptConversationSchema, { tenant_id: 1, 'member_changes.at': 1 });
SweptConversationSchema.plugin(tenantGuardPlugin);
