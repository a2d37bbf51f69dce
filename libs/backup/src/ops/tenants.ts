import type { OpsContext } from './ops-context';

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
