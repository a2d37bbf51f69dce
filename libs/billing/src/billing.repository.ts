import { Injectable } from '@nestjs/common';
import { InjectConnection, InjectModel } from '@nestjs/mongoose';
import { Types } from 'mongoose';
import type { Connection, Model } from 'mongoose';
import { isDuplicateKeyError } from '@chat/database';
import type { BillingPlan } from '@chat/contracts';
import { BILLING_MODEL } from './billing.schema';
import { Invoice } from './invoice';

export interface TenantBillingInfo {
  tenant_id: string;
  name: string;
  plan: string;
  status: string;
}

@Injectable()
export class BillingRepository {
  constructor(
    @InjectModel(BILLING_MODEL) private readonly model: Model<Record<string, unknown>>,
    @InjectConnection() private readonly connection: Connection,
  ) {}

  async plans(): Promise<BillingPlan[]> {
    return (await this.model.collection.find({ kind: 'plan' }, { sort: { _id: 1 } }).toArray()).map((d) => {
      const { _id: _i, kind: _k, created_at: _c, updated_at: _u, ...plan } = d;
      return plan as unknown as BillingPlan;
    });
  }

  async savePlan(plan: BillingPlan): Promise<void> {
    const now = new Date();
    await this.model.collection.updateOne({ _id: `plan:${plan.code}` } as never, { $set: { kind: 'plan', ...plan, updated_at: now }, $setOnInsert: { created_at: now } }, { upsert: true });
  }

  /**
   * Inserts the invoice unless one exists for that tenant and period: $setOnInsert on a deterministic
   * _id, so a second run (or a concurrent one) changes nothing. Returns the stored invoice and whether it is new.
   * Two concurrent upserts may both find no invoice and both insert (always on FerretDB, whose upsert is a
   * read then an insert): the loser hits the unique _id, and the invoice the winner stored is the answer.
   */
  async insertInvoiceOnce(inv: Invoice): Promise<{ invoice: Invoice; created: boolean }> {
    const { _id, ...fields } = inv;
    const r = await this.model.collection.updateOne({ _id } as never, { $setOnInsert: fields }, { upsert: true }).catch((err: unknown) => {
      if (!isDuplicateKeyError(err)) throw err;
      return { upsertedCount: 0 };
    });
    const stored = (await this.model.collection.findOne({ _id } as never)) as unknown as Invoice;
    return { invoice: stored, created: r.upsertedCount === 1 };
  }

  async invoice(id: string): Promise<Invoice | null> {
    return (await this.model.collection.findOne({ _id: id, kind: 'invoice' } as never)) as unknown as Invoice | null;
  }

  /** Cursor pages by _id (ids sort by period then tenant). */
  async invoices(q: { period?: string; tenant_id?: string; after?: string; limit: number }): Promise<Invoice[]> {
    const filter: Record<string, unknown> = { kind: 'invoice' };
    if (q.period) filter.period = q.period;
    if (q.tenant_id) filter.tenant_id = q.tenant_id;
    if (q.after) filter._id = { $gt: q.after };
    return (await this.model.collection.find(filter, { sort: { _id: 1 }, limit: q.limit }).toArray()) as unknown as Invoice[];
  }

  /**
   * Tenants to bill: every client that existed before the end of the period and was not deleted before
   * it started, plus any client with recorded usage in the period.
   */
  async billableTenants(periodStart: Date, periodEnd: Date, withUsage: string[]): Promise<TenantBillingInfo[]> {
    const ids = withUsage.filter((id) => /^[0-9a-f]{24}$/i.test(id)).map((id) => new Types.ObjectId(id));
    const rows = await this.connection
      .collection('clients')
      .find({ $or: [{ created_at: { $lt: periodEnd } }, { _id: { $in: ids } }] }, { projection: { name: 1, plan: 1, status: 1, deleted_at: 1 }, sort: { _id: 1 } })
      .toArray();
    return rows
      .filter((c) => !(c.deleted_at instanceof Date && c.deleted_at < periodStart && !withUsage.includes(String(c._id))))
      .map((c) => ({ tenant_id: String(c._id), name: String(c.name ?? ''), plan: String(c.plan ?? 'free'), status: String(c.status ?? '') }));
  }
}
