import type { IsoDate } from './common';

/** Usage of one tenant in one period (a calendar month, UTC): what invoices are computed from. */
export interface UsageTotals {
  messages_sent: number;
  /** Distinct end users who sent a message, made an authenticated request or connected. */
  active_users: number;
  peak_connections: number;
  /** Highest stored bytes sampled in the period. */
  storage_bytes: number;
  api_calls: number;
}

export const USAGE_FIELDS = ['messages_sent', 'active_users', 'peak_connections', 'storage_bytes', 'api_calls'] as const;
export type UsageField = (typeof USAGE_FIELDS)[number];

/** GET /v1/usage and /admin/billing/usage: a tenant's rolled-up usage of a month. */
export interface UsageView {
  tenant_id: string;
  period: string;
  totals: UsageTotals;
  days: Array<{ day: string; messages_sent: number; peak_connections: number; storage_bytes: number; api_calls: number }>;
  /** Usage is complete up to this instant (the roll-up watermark). */
  as_of: IsoDate | null;
}

/** A price list; amounts in integer cents. */
export interface BillingPlan {
  code: string;
  name: string;
  currency: string;
  base_fee_cents: number;
  included: UsageTotals;
  overage: Record<UsageField, { unit: number; unit_price_cents: number }>;
}

export interface InvoiceLine {
  item: 'base_fee' | UsageField;
  quantity: number;
  included: number;
  billable_units: number;
  unit: number;
  unit_price_cents: number;
  amount_cents: number;
}

export interface InvoiceView {
  id: string;
  tenant_id: string;
  tenant_name: string;
  period: string;
  plan: string;
  currency: string;
  usage: UsageTotals;
  lines: InvoiceLine[];
  total_cents: number;
  status: 'issued';
  issued_at: IsoDate;
}

/** POST /admin/billing/invoices: invoice ids issued now and already issued before. */
export interface InvoiceRunView {
  period: string;
  created: string[];
  existing: string[];
}

/** A usage roll-up run. */
export interface RollupReportView {
  events: number;
  metrics: number;
  batches: number;
  buckets: number;
  /** Buckets that had already seen a batch: not counted twice. */
  skipped: number;
  watermark: string | null;
}

/** An audit record (GET /admin/audit-logs). */
export interface AuditLogView {
  id: string;
  at: IsoDate;
  actor: { type: string; id: string | null; email: string | null };
  action: string;
  resource: { type: string | null; id: string | null };
  tenant_id: string | null;
  ip: string | null;
  success: boolean;
  severity: string;
  details: Record<string, unknown> | null;
  request_id: string | null;
}
