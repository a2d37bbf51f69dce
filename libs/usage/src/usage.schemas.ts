import { Schema, Types } from 'mongoose';

/**
 * Analytics collections. They are per tenant (every document has tenant_id, every index starts with
 * it) but written and rolled up across tenants by platform jobs, like billing: no tenantGuardPlugin;
 * UsageRepository is their only door and pins every tenant read to one tenant itself.
 */

export const USAGE_EVENT_TYPES = ['messages_sent', 'api_calls', 'active_users'] as const;
export type UsageEventType = (typeof USAGE_EVENT_TYPES)[number];

/** `events`: counters buffered in memory and written in batches (one document per tenant, type and day per flush). */
export interface UsageEventDoc {
  _id: Types.ObjectId;
  tenant_id: string;
  type: UsageEventType;
  count: number;
  /** active_users: the distinct users seen in the flush window. */
  user_ids?: string[];
  /** UTC day and month of the activity, precomputed (FerretDB has no $dateToString). */
  day: string;
  period: string;
  at: Date;
  /** The roll-up batch that counted this document (set once, by the first batch that claims it). */
  rolled?: Types.ObjectId;
}

export const UsageEventSchema = new Schema<UsageEventDoc>(
  {
    tenant_id: { type: String, required: true },
    type: { type: String, required: true, enum: USAGE_EVENT_TYPES },
    count: { type: Number, required: true },
    user_ids: { type: [String], default: undefined },
    day: { type: String, required: true },
    period: { type: String, required: true },
    at: { type: Date, required: true },
    rolled: { type: Schema.Types.ObjectId },
  },
  { collection: 'events', versionKey: false },
);
// The roll-up reads by _id (> watermark), which the _id index serves; tenants' own reads by day.
UsageEventSchema.index({ tenant_id: 1, day: 1 });

export const USAGE_METRIC_NAMES = ['connections', 'storage_bytes'] as const;
export type UsageMetricName = (typeof USAGE_METRIC_NAMES)[number];

/** `metrics`: gauge samples (concurrent connections at connect time, stored bytes). */
export interface UsageMetricDoc {
  _id: Types.ObjectId;
  tenant_id: string;
  name: UsageMetricName;
  value: number;
  day: string;
  period: string;
  at: Date;
  /** The roll-up batch that counted this sample. */
  rolled?: Types.ObjectId;
}

export const UsageMetricSchema = new Schema<UsageMetricDoc>(
  {
    tenant_id: { type: String, required: true },
    name: { type: String, required: true, enum: USAGE_METRIC_NAMES },
    value: { type: Number, required: true },
    day: { type: String, required: true },
    period: { type: String, required: true },
    at: { type: Date, required: true },
    rolled: { type: Schema.Types.ObjectId },
  },
  { collection: 'metrics', versionKey: false },
);
UsageMetricSchema.index({ tenant_id: 1, name: 1, day: 1 });

/**
 * `aggregations`: roll-up results. Deterministic string ids:
 * - `usage|<tenant>|<YYYY-MM>` monthly totals, `usage|<tenant>|<YYYY-MM-DD>` daily totals;
 * - `au|<tenant>|<YYYY-MM>|<user>` one per active user per month (MAU = their count);
 * - `watermark|events`, `watermark|metrics`: the last source _id rolled up (no tenant_id), and the
 *   batch in flight (`pending_*`) until it is finished.
 */
export interface AggregationDoc {
  _id: string;
  kind: 'usage_month' | 'usage_day' | 'active_user' | 'watermark';
  tenant_id?: string;
  period?: string;
  day?: string;
  user_id?: string;
  messages_sent?: number;
  api_calls?: number;
  active_users?: number;
  peak_connections?: number;
  storage_bytes?: number;
  /** Last source batch applied to this bucket, per source: a re-run of the same batch is refused by the filter. */
  applied_events?: Types.ObjectId;
  applied_metrics?: Types.ObjectId;
  last_id?: Types.ObjectId;
  pending_batch?: Types.ObjectId;
  pending_to?: Types.ObjectId;
  pending_claimed?: boolean;
  updated_at?: Date;
}

export const AggregationSchema = new Schema<AggregationDoc>(
  {
    _id: { type: String, required: true },
    kind: { type: String, required: true },
    tenant_id: { type: String },
    period: { type: String },
    day: { type: String },
    user_id: { type: String },
    messages_sent: { type: Number },
    api_calls: { type: Number },
    active_users: { type: Number },
    peak_connections: { type: Number },
    storage_bytes: { type: Number },
    applied_events: { type: Schema.Types.ObjectId },
    applied_metrics: { type: Schema.Types.ObjectId },
    last_id: { type: Schema.Types.ObjectId },
    pending_batch: { type: Schema.Types.ObjectId },
    pending_to: { type: Schema.Types.ObjectId },
    pending_claimed: { type: Boolean },
    updated_at: { type: Date },
  },
  { collection: 'aggregations', versionKey: false },
);
AggregationSchema.index({ tenant_id: 1, kind: 1, period: 1, day: 1 });

export const USAGE_EVENT_MODEL = 'UsageEvent';
export const USAGE_METRIC_MODEL = 'UsageMetric';
export const AGGREGATION_MODEL = 'UsageAggregation';

export function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}
export function utcPeriod(d: Date): string {
  return d.toISOString().slice(0, 7);
}
