import { PLANS, QUOTA_FIELDS, type TenantQuotas } from '@chat/contracts';

export type Plan = (typeof PLANS)[number];

const GB = 1024 ** 3;

/**
 * A plan's default quotas; a tenant's own `quotas` override them field by field. Enforced at run time by
 * libs/quotas: `users` counts documents in `users`; `messages_per_second` and `concurrent_connections`
 * are whole-tenant figures (all nodes); `storage_bytes` is bytes of stored files; `api_requests_per_minute`
 * counts REST requests (API keys and end-user tokens together).
 */
export const PLAN_QUOTAS: Record<Plan, TenantQuotas> = {
  free: { users: 1_000, messages_per_second: 20, concurrent_connections: 100, storage_bytes: 1 * GB, api_requests_per_minute: 600 },
  pro: { users: 100_000, messages_per_second: 200, concurrent_connections: 10_000, storage_bytes: 100 * GB, api_requests_per_minute: 6_000 },
  enterprise: { users: 10_000_000, messages_per_second: 2_000, concurrent_connections: 200_000, storage_bytes: 10_000 * GB, api_requests_per_minute: 60_000 },
};

export function effectiveQuotas(plan: string, overrides?: Partial<TenantQuotas> | null): TenantQuotas {
  const base = PLAN_QUOTAS[(PLANS as readonly string[]).includes(plan) ? (plan as Plan) : 'free'];
  const out = { ...base };
  for (const f of QUOTA_FIELDS) {
    const v = overrides?.[f];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) out[f] = v;
  }
  return out;
}
