import type { IsoDate } from './common';

/** Admin API views: snake_case, never a hash or a sealed secret. */
export interface TenantQuotas {
  users: number;
  messages_per_second: number;
  concurrent_connections: number;
  storage_bytes: number;
  api_requests_per_minute: number;
}

export const QUOTA_FIELDS = ['users', 'messages_per_second', 'concurrent_connections', 'storage_bytes', 'api_requests_per_minute'] as const satisfies ReadonlyArray<keyof TenantQuotas>;

/** The platform's plans (a tenant's `plan`; on the wire a string, so no named Plan type here: libs/platform derives it). */
export const PLANS = ['free', 'pro', 'enterprise'] as const;

export interface TenantView {
  id: string;
  name: string;
  plan: string;
  status: string;
  region: string;
  /** Effective quotas (plan defaults with this tenant's overrides applied). */
  quotas: TenantQuotas;
  /** Only the overrides set on this tenant. */
  quota_overrides: Partial<TenantQuotas>;
  metadata: Record<string, unknown>;
  suspended_at: IsoDate | null;
  suspension_reason: string | null;
  deleted_at: IsoDate | null;
  exported_at: IsoDate | null;
  erased_at: IsoDate | null;
  created_at: IsoDate;
  updated_at: IsoDate;
}

export interface TenantUsageView {
  tenant_id: string;
  quotas: TenantQuotas;
  usage: { concurrent_connections: number };
}

export interface ApplicationView {
  id: string;
  tenant_id: string;
  name: string;
  status: string;
  secret_version: number;
  secret_rotated_at: IsoDate | null;
  previous_secret_expires_at: IsoDate | null;
  created_at: IsoDate;
  updated_at: IsoDate;
}

/**
 * Answer of creating an application or rotating its secret. `secret` is shown this once: base64url
 * text of 32 random bytes. It is used as-is, as the UTF-8 string (not decoded to bytes), as the HS256
 * key of the end-user tokens your backend mints (docs/getting-started.md).
 */
export interface ApplicationWithSecretView extends ApplicationView {
  secret: string;
}

export interface ApiKeyView {
  id: string;
  tenant_id: string;
  application_id: string;
  name: string;
  prefix: string;
  scopes: string[];
  status: 'active' | 'expired' | 'revoked';
  expires_at: IsoDate | null;
  last_used_at: IsoDate | null;
  revoked_at: IsoDate | null;
  rotated_at: IsoDate | null;
  replaced_by: string | null;
  created_at: IsoDate;
}

/** Answer of creating an API key: `key` (the `X-API-Key` header value) is shown this once. */
export interface ApiKeyWithSecretView extends ApiKeyView {
  key: string;
}

/** Answer of rotating an API key: the new key, and the old one (working until its grace ends). */
export interface RotatedApiKeyView extends ApiKeyWithSecretView {
  previous: ApiKeyView;
}

export interface AdminView {
  id: string;
  email: string;
  role: string;
  status: string;
  last_login_at: IsoDate | null;
  created_at: IsoDate;
}

export interface AdminLoginView {
  /** Send as `Authorization: Bearer <token>`. */
  token: string;
  expires_at: IsoDate;
  /** Always `Bearer`. */
  token_type: string;
  admin: AdminView;
}

/** An end-user token minted by the server (POST /v1/users/{external_id}/token). */
export interface UserTokenView {
  token: string;
  expires_at: IsoDate;
}

/** The caller as the server sees it (GET /v1/whoami). */
export interface ActorView {
  kind: 'api_key' | 'user' | 'admin';
  tenant_id?: string;
  application_id?: string;
  /** API key callers. */
  key_id?: string;
  scopes?: string[];
  /** End users. */
  user_id?: string;
  /** Platform admins. */
  admin_id?: string;
  role?: string;
}

/** Liveness and readiness answers (GET /health, /health/ready). */
export interface HealthView {
  status: string;
  version: string;
  uptime_seconds: number;
  checks?: Record<string, unknown>;
}

/** POST /v1/users/batch: external ids created and updated. */
export interface BatchUpsertView {
  created: string[];
  updated: string[];
}

