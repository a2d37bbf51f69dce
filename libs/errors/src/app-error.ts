import { HttpException } from '@nestjs/common';
import { ErrorCode, STATUS_BY_CODE } from './error-codes';

/** The one error shape, for HTTP bodies and socket acks alike. */
export interface ErrorBody {
  error: { code: ErrorCode | string; message: string; details?: unknown };
}

/**
 * Throw this from anywhere (service, guard, gateway). `retryAfterSeconds` becomes a Retry-After
 * header on HTTP and a detail on sockets.
 */
export class AppError extends HttpException {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly retryAfterSeconds?: number,
  ) {
    super({ error: { code, message, ...(details === undefined ? {} : { details }) } }, STATUS_BY_CODE[code]);
  }

  static notFound(what = 'Resource'): AppError {
    // Same text whether the record is absent or belongs to another tenant.
    return new AppError(ErrorCode.NotFound, `${what} not found`);
  }
  static forbidden(message = 'You are not allowed to do this'): AppError {
    return new AppError(ErrorCode.Forbidden, message);
  }
  static unauthorized(message = 'Missing or invalid credentials'): AppError {
    return new AppError(ErrorCode.Unauthorized, message);
  }
  static validation(details: unknown, message = 'Request validation failed'): AppError {
    return new AppError(ErrorCode.ValidationFailed, message, details);
  }
  static conflict(message: string, details?: unknown): AppError {
    return new AppError(ErrorCode.Conflict, message, details);
  }
  static rateLimited(retryAfterSeconds: number, message = 'Too many requests', code: ErrorCode = ErrorCode.RateLimited): AppError {
    return new AppError(code, message, { retry_after_seconds: retryAfterSeconds }, retryAfterSeconds);
  }
}
