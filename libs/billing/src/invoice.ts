import { USAGE_FIELDS, type BillingPlan, type InvoiceLine, type InvoiceView, type UsageTotals, type WithDates } from '@chat/contracts';

/** An invoice as stored in `billing` (kind 'invoice'): its view, with the id as _id and issued_at a Date. */
export type Invoice = Omit<WithDates<InvoiceView, 'issued_at'>, 'id'> & { _id: string; kind: 'invoice' };

export function invoiceId(period: string, tenantId: string): string {
  return `inv_${period}_${tenantId}`;
}

/**
 * Pure: usage x price list -> lines and total, in integer cents. A usage line's quantity is what was used
 * (the base fee's is 1); overage is charged per started unit above the included amount:
 * `ceil((used - included) / unit) * unit_price_cents`.
 */
export function priceInvoice(plan: BillingPlan, usage: UsageTotals): { lines: InvoiceLine[]; total_cents: number } {
  const lines: InvoiceLine[] = [{ item: 'base_fee', quantity: 1, included: 0, billable_units: 1, unit: 1, unit_price_cents: plan.base_fee_cents, amount_cents: plan.base_fee_cents }];
  for (const f of USAGE_FIELDS) {
    const used = usage[f];
    const included = plan.included[f];
    const { unit, unit_price_cents } = plan.overage[f];
    const billable_units = used > included ? Math.ceil((used - included) / unit) : 0;
    lines.push({ item: f, quantity: used, included, billable_units, unit, unit_price_cents, amount_cents: billable_units * unit_price_cents });
  }
  return { lines, total_cents: lines.reduce((s, l) => s + l.amount_cents, 0) };
}

function csvCell(v: unknown): string {
  const s = String(v ?? '');
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per line plus a total row; amounts in cents (no float formatting in money). */
export function invoiceToCsv(inv: Invoice): string {
  const header = ['invoice_id', 'tenant_id', 'tenant_name', 'period', 'plan', 'currency', 'item', 'quantity', 'included', 'billable_units', 'unit', 'unit_price_cents', 'amount_cents'];
  const rows = inv.lines.map((l) => [inv._id, inv.tenant_id, inv.tenant_name, inv.period, inv.plan, inv.currency, l.item, l.quantity, l.included, l.billable_units, l.unit, l.unit_price_cents, l.amount_cents]);
  rows.push([inv._id, inv.tenant_id, inv.tenant_name, inv.period, inv.plan, inv.currency, 'total', '', '', '', '', '', inv.total_cents]);
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/** The JSON view (ids and dates as strings). */
export function invoiceView(inv: Invoice): InvoiceView {
  const { _id, kind: _k, issued_at, ...rest } = inv;
  return { id: _id, ...rest, issued_at: new Date(issued_at).toISOString() };
}
