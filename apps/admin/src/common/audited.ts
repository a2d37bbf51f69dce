import { CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata, UseInterceptors, applyDecorators } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { catchError, from, mergeMap, Observable, throwError } from 'rxjs';
import { AuditService, AuditSeverity } from '@chat/audit';
import { AuthPrincipal, PRINCIPAL_KEY } from '@chat/auth';
import { AppError } from '@chat/errors';
import { clientIp } from './client-ip';

interface AuditedMeta {
  action: string;
  resource: 'tenant' | 'application' | 'api_key' | 'admin' | 'webhook';
  severity: AuditSeverity;
  idFrom: 'param' | 'response';
}
const AUDITED = 'chat:admin:audited';

/**
 * Records the admin action in the audit log, success or failure, with actor, resource, tenant and IP.
 * The resource id is the `:id` route parameter, else the `id` of the response (`idFrom: 'response'`:
 * the other way round, for creations under a parent, e.g. a key under an application).
 */
export function Audited(action: string, resource: AuditedMeta['resource'], severity: AuditSeverity = 'info', idFrom: AuditedMeta['idFrom'] = 'param') {
  return applyDecorators(SetMetadata(AUDITED, { action, resource, severity, idFrom } satisfies AuditedMeta), UseInterceptors(AuditInterceptor));
}

@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const meta = this.reflector.get<AuditedMeta | undefined>(AUDITED, ctx.getHandler());
    if (!meta) return next.handle();
    const req = ctx.switchToHttp().getRequest<Request & { [PRINCIPAL_KEY]?: AuthPrincipal }>();
    const p = req[PRINCIPAL_KEY];
    const actor = p?.kind === 'admin' ? { type: 'admin' as const, id: p.adminId } : { type: 'anonymous' as const, id: null };
    const paramId = typeof req.params?.id === 'string' ? req.params.id : null;
    // Awaited: when the response arrives, its audit entry is already queryable.
    const write = (success: boolean, body: Record<string, unknown> | null, error?: unknown): Promise<void> => {
      const bodyId = typeof body?.id === 'string' ? body.id : null;
      const id = meta.idFrom === 'response' ? (bodyId ?? paramId) : (paramId ?? bodyId);
      const tenantId = typeof body?.tenant_id === 'string' ? body.tenant_id : meta.resource === 'tenant' ? id : null;
      return this.audit.record({
        action: meta.action,
        actor,
        resource: { type: meta.resource, id },
        tenantId,
        ip: clientIp(req),
        success,
        severity: success ? meta.severity : 'warning',
        details: {
          ...(meta.idFrom === 'response' && paramId ? { parent_id: paramId } : {}),
          ...(error ? { code: error instanceof AppError ? error.code : 'internal_error' } : {}),
        },
      });
    };
    return next.handle().pipe(
      mergeMap((body) => from(write(true, body && typeof body === 'object' ? (body as Record<string, unknown>) : null).then(() => body))),
      catchError((err) => from(write(false, null, err)).pipe(mergeMap(() => throwError(() => err)))),
    );
  }
}
