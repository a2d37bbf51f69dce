import { HttpException, HttpStatus } from '@nestjs/common';
import { AppError, ErrorBody } from './app-error';
import { ErrorCode, STATUS_BY_CODE } from './error-codes';
import { isRedisUnavailable } from './redis-unavailable';

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: ErrorCode.BadRequest,
  401: ErrorCode.Unauthorized,
  403: ErrorCode.Forbidden,
  404: ErrorCode.NotFound,
  409: ErrorCode.Conflict,
  413: ErrorCode.PayloadTooLarge,
  415: ErrorCode.UnsupportedMediaType,
  429: ErrorCode.RateLimited,
  503: ErrorCode.ServiceUnavailable,
};

export interface NormalizedError {
  status: number;
  body: ErrorBody;
  retryAfterSeconds?: number;
  /** True when the error is unexpected (a bug or an outage) and should be logged with its stack. */
  unexpected: boolean;
}

/** Maps anything thrown to the one error shape. Unknown errors never leak their message. */
export function toErrorBody(err: unknown): NormalizedError {
  if (err instanceof AppError) {
    return { status: err.getStatus(), body: err.getResponse() as ErrorBody, retryAfterSeconds: err.retryAfterSeconds, unexpected: false };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const res = err.getResponse();
    const message =
      typeof res === 'string'
        ? res
        : Array.isArray((res as { message?: unknown }).message)
          ? ((res as { message: string[] }).message).join('; ')
          : String((res as { message?: unknown }).message ?? err.message);
    // Nest's router throws a plain NotFoundException("Cannot GET /x") for unknown routes.
    const unknownRoute = status === 404 && /^Cannot [A-Z]+ /.test(message);
    const code = unknownRoute ? ErrorCode.RouteNotFound : (CODE_BY_STATUS[status] ?? (status >= 500 ? ErrorCode.Internal : ErrorCode.BadRequest));
    return { status, body: { error: { code, message: status >= 500 ? 'Internal server error' : message } }, unexpected: status >= 500 };
  }
  const e = err as { type?: string; status?: number; statusCode?: number; name?: string; code?: unknown; expose?: boolean };
  // body-parser errors (malformed JSON, body too large) arrive before any Nest handler.
  if (e?.type === 'entity.parse.failed') {
    return { status: 400, body: { error: { code: ErrorCode.InvalidJson, message: 'Request body is not valid JSON' } }, unexpected: false };
  }
  if (e?.type === 'entity.too.large') {
    return { status: 413, body: { error: { code: ErrorCode.PayloadTooLarge, message: 'Request body is too large' } }, unexpected: false };
  }
  // Any other client error from body-parser / http-errors (an undecodable Content-Encoding, an
  // aborted upload): its status says whose fault it is; the message is ours.
  if (e?.expose === true && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    const code = CODE_BY_STATUS[e.status] ?? ErrorCode.BadRequest;
    return { status: STATUS_BY_CODE[code], body: { error: { code, message: 'Request body could not be read' } }, unexpected: false };
  }
  if (e?.name === 'CastError' || e?.name === 'BSONError') {
    return { status: 400, body: { error: { code: ErrorCode.BadRequest, message: 'Malformed identifier' } }, unexpected: false };
  }
  if (e?.code === 11000) {
    return { status: 409, body: { error: { code: ErrorCode.Conflict, message: 'Resource already exists' } }, unexpected: false };
  }
  // An outage, not a bug: the retryable code, and no stack per request (the connection logs it once).
  if (isRedisUnavailable(err)) {
    return { status: 503, body: { error: { code: ErrorCode.ServiceUnavailable, message: 'A backing service is unavailable: retry shortly' } }, retryAfterSeconds: 1, unexpected: false };
  }
  return {
    status: HttpStatus.INTERNAL_SERVER_ERROR,
    body: { error: { code: ErrorCode.Internal, message: 'Internal server error' } },
    unexpected: true,
  };
}
