import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuditService } from '@chat/audit';
import { AppError } from '@chat/errors';
import type { ApiKeyService } from '@chat/platform';
import type { QuotaService } from '@chat/quotas';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { ApiKeyGuard, REQUIRED_SCOPES } from './guards';

function ctxFor(req: Record<string, unknown>, scopes: string[]): { ctx: ExecutionContext; reflector: Reflector } {
  const handler = () => undefined;
  Reflect.defineMetadata(REQUIRED_SCOPES, scopes, handler);
  const ctx = {
    getHandler: () => handler,
    getClass: () => class {},
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => ({}) }),
  } as unknown as ExecutionContext;
  return { ctx, reflector: new Reflector() };
}

describe('ApiKeyGuard', () => {
  const tenantId = asTenantId('t1');
  const keys = { authenticate: jest.fn(async () => ({ tenantId, applicationId: 'app', keyId: 'k1', scopes: ['users:write', 'files:*'] })) } as unknown as ApiKeyService;
  const quotas = { consumeApiRequest: jest.fn(async () => undefined) } as unknown as QuotaService;
  const audit = { record: jest.fn(async () => undefined), recordThrottled: jest.fn(async () => undefined) } as unknown as AuditService;

  it('sets the principal, enters the tenant and counts the request when the scopes are held', async () => {
    const req: Record<string, unknown> = { headers: { 'x-api-key': 'ck_x' }, method: 'GET', path: '/v1/x' };
    const { ctx, reflector } = ctxFor(req, ['users:write', 'files:read']);
    await TenantContext.run({}, async () => {
      await expect(new ApiKeyGuard(reflector, keys, quotas, audit).canActivate(ctx)).resolves.toBe(true);
      expect(TenantContext.current()).toMatchObject({ tenantId, actor: { type: 'api_key', id: 'k1' } });
    });
    expect(req.principal).toEqual({ kind: 'api_key', tenantId, applicationId: 'app', keyId: 'k1', scopes: ['users:write', 'files:*'] });
    expect(quotas.consumeApiRequest).toHaveBeenCalledWith(tenantId);
  });

  it('refuses a missing scope with 403 and an audit entry, without counting the request', async () => {
    (quotas.consumeApiRequest as jest.Mock).mockClear();
    const req: Record<string, unknown> = { headers: { 'x-api-key': 'ck_x' }, method: 'POST', path: '/v1/y' };
    const { ctx, reflector } = ctxFor(req, ['messages:write']);
    const err = await TenantContext.run({}, () => new ApiKeyGuard(reflector, keys, quotas, audit).canActivate(ctx)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).getStatus()).toBe(403);
    expect((err as AppError).details).toEqual({ missing_scopes: ['messages:write'] });
    expect(audit.recordThrottled).toHaveBeenCalledWith(expect.stringContaining('denied:k1'), expect.objectContaining({ action: 'auth.permission_denied', tenantId }));
    expect(quotas.consumeApiRequest).not.toHaveBeenCalled();
  });
});
