import type { AdminView, ApiKeyView, ApplicationView, TenantView } from '@chat/contracts';
import type { ApiKeyDoc } from './schemas/api-key.schema';
import type { ApplicationDoc } from './schemas/application.schema';
import type { ClientDoc } from './schemas/client.schema';
import type { PlatformAdminDoc } from './schemas/platform-admin.schema';
import { effectiveQuotas } from './plans';

/** What the admin API returns (the wire contract): snake_case, never a hash or a sealed secret. */
export type { AdminView, ApiKeyView, ApplicationView, TenantView };

const iso = (d?: Date | null) => (d ? new Date(d).toISOString() : null);

export function toTenantView(c: ClientDoc): TenantView {
  return {
    id: c._id.toHexString(),
    name: c.name,
    plan: c.plan,
    status: c.status,
    region: c.region,
    quotas: effectiveQuotas(c.plan, c.quotas),
    quota_overrides: c.quotas ?? {},
    metadata: c.metadata ?? {},
    suspended_at: iso(c.suspended_at),
    suspension_reason: c.suspension_reason ?? null,
    deleted_at: iso(c.deleted_at),
    exported_at: iso(c.exported_at),
    erased_at: iso(c.erased_at),
    created_at: iso(c.created_at)!,
    updated_at: iso(c.updated_at)!,
  };
}

export function toApplicationView(a: ApplicationDoc): ApplicationView {
  return {
    id: a._id.toHexString(),
    tenant_id: a.tenant_id,
    name: a.name,
    status: a.status,
    secret_version: a.secret_version,
    secret_rotated_at: iso(a.secret_rotated_at),
    previous_secret_expires_at: iso(a.previous_secret_expires_at),
    created_at: iso(a.created_at)!,
    updated_at: iso(a.updated_at)!,
  };
}

export function apiKeyStatus(k: Pick<ApiKeyDoc, 'revoked_at' | 'expires_at'>, now = Date.now()): ApiKeyView['status'] {
  if (k.revoked_at) return 'revoked';
  if (k.expires_at && new Date(k.expires_at).getTime() <= now) return 'expired';
  return 'active';
}

/** `now` decides expired vs active (the app's Clock; the real time by default). */
export function toApiKeyView(k: ApiKeyDoc, now = Date.now()): ApiKeyView {
  return {
    id: k._id.toHexString(),
    tenant_id: k.tenant_id,
    application_id: k.application_id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    status: apiKeyStatus(k, now),
    expires_at: iso(k.expires_at),
    last_used_at: iso(k.last_used_at),
    revoked_at: iso(k.revoked_at),
    rotated_at: iso(k.rotated_at),
    replaced_by: k.replaced_by ?? null,
    created_at: iso(k.created_at)!,
  };
}

export function toAdminView(a: PlatformAdminDoc): AdminView {
  return {
    id: a._id.toHexString(),
    email: a.email,
    role: a.role,
    status: a.status,
    last_login_at: iso(a.last_login_at),
    created_at: iso(a.created_at)!,
  };
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** Builds a page from limit+1 rows: the extra row only says there is more. */
export function toPage<D extends { _id: { toHexString(): string } }, T>(rows: D[], limit: number, view: (d: D) => T): Page<T> {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return { data: page.map(view), next_cursor: more && page.length ? page[page.length - 1]._id.toHexString() : null };
}
