import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { Counter, register } from 'prom-client';

// Errors by code for Prometheus (prom-client's default registry, the one /metrics serves).
const errorsByCode =
  (register.getSingleMetric('chat_http_errors_total') as Counter<string> | undefined) ??
  new Counter({ name: 'chat_http_errors_total', help: 'HTTP error responses by error code and status', labelNames: ['code', 'status'] });
import { toErrorBody } from './to-error-body';

/** Every HTTP error, including unknown routes and body-parser failures, leaves in the one shape. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const res = host.switchToHttp().getResponse<Response>();
    const { status, body, retryAfterSeconds, unexpected } = toErrorBody(exception);
    errorsByCode.inc({ code: String((body as { error?: { code?: unknown } }).error?.code ?? 'unknown'), status: String(status) });
    if (unexpected) this.logger.error(exception instanceof Error ? exception.stack ?? exception.message : String(exception));
    if (res.headersSent) return;
    if (retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfterSeconds))));
    res.status(status).json(body);
  }
}
