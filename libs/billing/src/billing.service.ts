import { Injectable } from '@nestjs/common';
import { AppError } from '@chat/errors';
import { UsageRollupService, UsageService, assertPeriod } from '@chat/usage';
import type { BillingPlan, InvoiceRunView } from '@chat/contracts';
import { DEFAULT_BILLING_PLANS } from './billing-plans';
import { BillingRepository } from './billing.repository';
import { Invoice, invoiceId, priceInvoice } from './invoice';

function periodBounds(period: string): { start: Date; end: Date } {
  const [y, m] = period.split('-').map(Number);
  return { start: new Date(Date.UTC(y, m - 1, 1)), end: new Date(Date.UTC(y, m, 1)) };
}

/** Plans and monthly invoices. Invoices are immutable once issued: generation is idempotent per tenant and period. */
@Injectable()
export class BillingService {
  constructor(
    private readonly repo: BillingRepository,
    private readonly usage: UsageService,
    private readonly rollup: UsageRollupService,
  ) {}

  /** Stored price lists over the built-in defaults (a plan never stored uses its default). */
  async plans(): Promise<BillingPlan[]> {
    const stored = new Map((await this.repo.plans()).map((p) => [p.code, p]));
    const out = DEFAULT_BILLING_PLANS.map((p) => stored.get(p.code) ?? p);
    for (const [code, p] of stored) if (!DEFAULT_BILLING_PLANS.some((d) => d.code === code)) out.push(p);
    return out;
  }

  async plan(code: string): Promise<BillingPlan> {
    return (await this.plans()).find((p) => p.code === code) ?? (await this.plans()).find((p) => p.code === 'free')!;
  }

  async savePlan(plan: BillingPlan): Promise<BillingPlan> {
    await this.repo.savePlan(plan);
    return plan;
  }

  /**
   * Issues the invoices of a closed month for every billable tenant (or one). Usage is rolled up first;
   * an invoice that exists is returned as it is, never recomputed, so running this twice changes nothing.
   */
  async generate(period: string, opts: { tenantId?: string; now?: Date } = {}): Promise<InvoiceRunView> {
    assertPeriod(period);
    const { start, end } = periodBounds(period);
    if (end.getTime() > (opts.now ?? new Date()).getTime()) throw AppError.conflict(`Period ${period} is not over yet: invoices are issued for closed months`);
    await this.rollup.rollup();
    const report: InvoiceRunView = { period, created: [], existing: [] };
    const tenants = (await this.repo.billableTenants(start, end, await this.usage.tenantsWithUsage(period))).filter((t) => !opts.tenantId || t.tenant_id === opts.tenantId);
    if (opts.tenantId && !tenants.length) throw AppError.notFound('Tenant');
    for (const t of tenants) {
      const id = invoiceId(period, t.tenant_id);
      if (await this.repo.invoice(id)) {
        report.existing.push(id);
        continue;
      }
      const plan = await this.plan(t.plan);
      const usage = await this.usage.totals(t.tenant_id, period);
      const priced = priceInvoice(plan, usage);
      const inv: Invoice = { _id: id, kind: 'invoice', tenant_id: t.tenant_id, tenant_name: t.name, period, plan: plan.code, currency: plan.currency, usage, ...priced, status: 'issued', issued_at: new Date() };
      const { created } = await this.repo.insertInvoiceOnce(inv);
      (created ? report.created : report.existing).push(id);
    }
    return report;
  }

  async invoice(id: string, tenantId?: string): Promise<Invoice> {
    const inv = await this.repo.invoice(id);
    // Another tenant's invoice looks exactly like a missing one.
    if (!inv || (tenantId !== undefined && inv.tenant_id !== tenantId)) throw AppError.notFound('Invoice');
    return inv;
  }

  async invoices(q: { period?: string; tenant_id?: string; cursor?: string; limit?: number }): Promise<{ data: Invoice[]; next_cursor: string | null }> {
    if (q.period) assertPeriod(q.period);
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 200);
    const rows = await this.repo.invoices({ period: q.period, tenant_id: q.tenant_id, after: q.cursor, limit: limit + 1 });
    const data = rows.slice(0, limit);
    return { data, next_cursor: rows.length > limit ? data[data.length - 1]._id : null };
  }
}
