import type { TenantId } from '@chat/tenancy';

export type AdminRole = 'owner' | 'support';

export interface ApiKeyPrincipal {
  kind: 'api_key';
  tenantId: TenantId;
  applicationId: string;
  keyId: string;
  scopes: string[];
}
export interface UserPrincipal {
  kind: 'user';
  tenantId: TenantId;
  applicationId: string;
  /** The end user's external_id. */
  userId: string;
}
export interface AdminPrincipal {
  kind: 'admin';
  adminId: string;
  role: AdminRole;
}

/** Who is calling, as resolved by the guards (see docs/architecture.md). Also exported as `Principal` (type and decorator). */
export type AuthPrincipal = ApiKeyPrincipal | UserPrincipal | AdminPrincipal;

/** Where guards leave the principal on the request. */
export const PRINCIPAL_KEY = 'principal';
