import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { finalize } from 'rxjs/operators';
import { TenantContext } from '@chat/tenancy';
import { UsageRecorder } from './usage-recorder';

/**
 * Counts every REST call made with tenant credentials (API key or end-user token; after the guards,
 * so the tenant is known), and marks end users active. Admin and anonymous calls are not metered.
 */
@Injectable()
export class UsageInterceptor implements NestInterceptor {
  constructor(private readonly recorder: UsageRecorder) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    return next.handle().pipe(
      finalize(() => {
        const ctx = TenantContext.current();
        if (!ctx?.tenantId) return;
        this.recorder.apiCall(ctx.tenantId);
        if (ctx.actor?.type === 'user') this.recorder.userActive(ctx.tenantId, ctx.actor.id);
      }),
    );
  }
}
