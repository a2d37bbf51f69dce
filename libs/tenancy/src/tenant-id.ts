declare const tenantBrand: unique symbol;

/** A tenant (SaaS client) id. Branded so a user id or any other string cannot be passed by mistake. */
export type TenantId = string & { readonly [tenantBrand]: true };

const TENANT_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function isTenantId(value: unknown): value is TenantId {
  return typeof value === 'string' && TENANT_ID_RE.test(value);
}

/** The only way to make a TenantId: from a value the auth layer has verified. */
export function asTenantId(value: string): TenantId {
  if (!isTenantId(value)) throw new TypeError(`Invalid tenant id: ${JSON.stringify(value)}`);
  return value;
}
