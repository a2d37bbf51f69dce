import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { AuditService } from '@chat/audit';
import { AppError } from '@chat/errors';
import { ApiKeyService, PlatformAdminService, scopeAllows } from '@chat/platform';
import { QuotaService } from '@chat/quotas';
import { TenantContext } from '@chat/tenancy';
import { AdminTokenService } from './admin-token.service';
import { AdminRole, ApiKeyPrincipal, AuthPrincipal, PRINCIPAL_KEY, UserPrincipal } from './principal';
import { createUserJwtPassport, USER_JWT_STRATEGY, userAuthFailure } from './user-jwt.strategy';
import { UserTokenService } from './user-token.service';

export const REQUIRED_SCOPES = 'chat:auth:scopes';
export const REQUIRED_ROLES = 'chat:auth:roles';

type Req = Request & { [PRINCIPAL_KEY]?: AuthPrincipal };

function bearer(req: Request): string | undefined {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m?.[1];
}

function required<T>(reflector: Reflector, key: string, ctx: ExecutionContext): T[] {
  return reflector.getAllAndOverride<T[]>(key, [ctx.getHandler(), ctx.getClass()]) ?? [];
}

/** Authenticates an API key (X-Api-Key), checks scopes, enters the tenant, counts the request. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
    private readonly quotas: QuotaService,
    private readonly audit: AuditService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<Req>();
    req[PRINCIPAL_KEY] = await authenticateApiKey(req, required<string>(this.reflector, REQUIRED_SCOPES, ctx), this.keys, this.quotas, this.audit);
    return true;
  }
}

/** Authenticates an end-user JWT (passport-jwt), enters the tenant, counts the request. */
@Injectable()
export class UserAuthGuard implements CanActivate {
  private readonly passport;

  constructor(
    tokens: UserTokenService,
    private readonly quotas: QuotaService,
    private readonly audit: AuditService,
  ) {
    this.passport = createUserJwtPassport(tokens);
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const http = ctx.switchToHttp();
    const req = http.getRequest<Req>();
    req[PRINCIPAL_KEY] = await authenticateUser(req, http.getResponse<Response>(), this.passport, this.quotas, this.audit);
    return true;
  }
}

/** Either credential: X-Api-Key when present (scopes apply to keys only), else the end-user JWT. */
@Injectable()
export class ApiKeyOrUserGuard implements CanActivate {
  private readonly passport;

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
    tokens: UserTokenService,
    private readonly quotas: QuotaService,
    private readonly audit: AuditService,
  ) {
    this.passport = createUserJwtPassport(tokens);
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const http = ctx.switchToHttp();
    const req = http.getRequest<Req>();
    req[PRINCIPAL_KEY] =
      req.headers['x-api-key'] !== undefined
        ? await authenticateApiKey(req, required<string>(this.reflector, REQUIRED_SCOPES, ctx), this.keys, this.quotas, this.audit)
        : await authenticateUser(req, http.getResponse<Response>(), this.passport, this.quotas, this.audit);
    return true;
  }
}

/** Platform admins: admin JWT, admin still active, role allowed. The role is read from the database, so a change applies at once. */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: AdminTokenService,
    private readonly admins: PlatformAdminService,
    private readonly audit: AuditService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<Req>();
    const token = bearer(req);
    if (!token) throw AppError.unauthorized('Missing admin token (Authorization: Bearer <jwt>)');
    const claims = this.tokens.verify(token);
    const admin = await this.admins.findActive(claims.sub);
    if (!admin) throw AppError.unauthorized('Invalid admin token');
    const adminId = admin._id.toHexString();
    TenantContext.setActor({ type: 'admin', id: adminId });
    const roles = required<AdminRole>(this.reflector, REQUIRED_ROLES, ctx);
    if (roles.length && !roles.includes(admin.role)) {
      await this.audit.record({
        action: 'auth.permission_denied',
        actor: { type: 'admin', id: adminId, email: admin.email },
        resource: { type: 'route', id: `${req.method} ${req.route?.path ?? req.path}` },
        ip: req.ip ?? null,
        success: false,
        severity: 'warning',
        details: { required_roles: roles, role: admin.role },
      });
      throw AppError.forbidden(`This action needs the ${roles.join(' or ')} role`);
    }
    req[PRINCIPAL_KEY] = { kind: 'admin', adminId, role: admin.role };
    return true;
  }
}

async function authenticateApiKey(req: Req, scopes: string[], keys: ApiKeyService, quotas: QuotaService, audit: AuditService): Promise<ApiKeyPrincipal> {
  const raw = req.headers['x-api-key'];
  let key;
  try {
    key = await keys.authenticate(Array.isArray(raw) ? raw[0] : raw);
  } catch (err) {
    await auditSuspended(audit, err, req, 'api_key');
    throw err;
  }
  TenantContext.enter(key.tenantId, { type: 'api_key', id: key.keyId });
  const missing = scopes.filter((s) => !scopeAllows(key.scopes, s));
  if (missing.length) {
    await audit.recordThrottled(`denied:${key.keyId}:${req.method}:${req.route?.path ?? req.path}`, {
      action: 'auth.permission_denied',
      actor: { type: 'api_key', id: key.keyId },
      tenantId: key.tenantId,
      resource: { type: 'route', id: `${req.method} ${req.route?.path ?? req.path}` },
      ip: req.ip ?? null,
      success: false,
      severity: 'warning',
      details: { missing_scopes: missing },
    });
    throw new AppError('forbidden', `This API key lacks the scope(s): ${missing.join(', ')}`, { missing_scopes: missing });
  }
  await quotas.consumeApiRequest(key.tenantId);
  return { kind: 'api_key', tenantId: key.tenantId, applicationId: key.applicationId, keyId: key.keyId, scopes: key.scopes };
}

async function authenticateUser(
  req: Req,
  res: Response,
  passport: ReturnType<typeof createUserJwtPassport>,
  quotas: QuotaService,
  audit: AuditService,
): Promise<UserPrincipal> {
  let principal: UserPrincipal;
  try {
    principal = await new Promise<UserPrincipal>((resolve, reject) => {
      passport.authenticate(USER_JWT_STRATEGY, { session: false }, (err: unknown, user: UserPrincipal | false, info: unknown) => {
        if (err) reject(err);
        else if (!user) reject(userAuthFailure(info));
        else resolve(user);
      })(req, res, (err?: unknown) => reject(err ?? AppError.unauthorized()));
    });
  } catch (err) {
    await auditSuspended(audit, err, req, 'user');
    throw err;
  }
  TenantContext.enter(principal.tenantId, { type: 'user', id: principal.userId });
  await quotas.consumeApiRequest(principal.tenantId);
  return principal;
}

/** A suspended tenant's calls are security events: one audit entry per tenant and credential kind a minute. */
async function auditSuspended(audit: AuditService, err: unknown, req: Req, kind: 'api_key' | 'user'): Promise<void> {
  if (!(err instanceof AppError) || err.code !== 'tenant_suspended') return;
  const tenantId = (err as { tenantId?: string }).tenantId ?? null;
  await audit.recordThrottled(`suspended:${tenantId}:${kind}`, {
    action: 'auth.tenant_suspended',
    actor: { type: kind, id: null },
    tenantId,
    resource: { type: 'route', id: `${req.method} ${req.path}` },
    ip: req.ip ?? null,
    success: false,
    severity: 'warning',
  });
}
