import { AppError } from '@chat/errors';
import { mongo } from 'mongoose';
import type { OpsContext } from './ops-context';

const STATUSES = ['active', 'suspended', 'deleted'];

export interface TenantRow {
  tenant_id: string;
  name: string;
  plan: string;
  status: string;
  region: string;
  created_at: string | null;
  users?: number;
  messages?: number;
}

/** Every tenant (the `clients` collection), oldest first, optionally with user and message counts. */
export async function runTenants(ctx: OpsContext, opts: { counts?: boolean; status?: string }): Promise<TenantRow[]> {
  if (opts.status !== undefined && !STATUSES.includes(opts.status)) {
    const problem = `--status must be one of ${STATUSES.join(' | ')}`;
    throw AppError.validation([{ field: 'status', problems: [problem] }], problem);
  }
  const db = await ctx.db();
  const rows: TenantRow[] = [];
  for await (const c of db.collection('clients').find(opts.status ? { status: opts.status } : {}, { sort: { _id: 1 } })) {
    const tenant_id = String(c._id);
    const row: TenantRow = {
      tenant_id,
      name: String(c.name ?? ''),
      plan: String(c.plan ?? ''),
      status: String(c.status ?? ''),
      region: String(c.region ?? ''),
      created_at: c.created_at instanceof Date ? c.created_at.toISOString() : null,
    };
    if (opts.counts) {
      row.users = await db.collection('users').countDocuments({ tenant_id });
      row.messages = await db.collection('messages').countDocuments({ tenant_id });
    }
    rows.push(row);
  }
  return rows;
}

/** Tenant commands fail on an unknown tenant (instead of writing an empty export and exiting 0). */
export async function assertTenantExists(ctx: OpsContext, tenantId: string): Promise<void> {
  const found = mongo.ObjectId.isValid(tenantId) && tenantId.length === 24 && (await (await ctx.db()).collection('clients').countDocuments({ _id: new mongo.ObjectId(tenantId) }, { limit: 1 })) > 0;
  if (!found) throw AppError.notFound(`Tenant ${tenantId}`);
}
