/**
 * Errors of the client SDK. Every failure from the server carries its error shape
 * `{ error: { code, message, details? } }`; the SDK raises it as a ChatApiError with the HTTP status
 * (0 for network failures and socket errors that have none).
 */
export interface ServerErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** Codes the server uses (see libs/errors); clients switch on `code`. */
export type ServerErrorCode =
  | 'bad_request'
  | 'invalid_json'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'tenant_suspended'
  | 'user_banned'
  | 'conversation_frozen'
  | 'member_muted'
  | 'not_found'
  | 'route_not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'rate_limited'
  | 'quota_exceeded'
  | 'missing_recipient_keys'
  | 'upload_verification_failed'
  | 'service_unavailable'
  | 'internal_error';

/** Codes the SDK itself produces (no server answer). */
export type ClientErrorCode = 'network_error' | 'timeout' | 'invalid_response' | 'socket_disconnected' | 'storage_error';

export class ChatApiError extends Error {
  override readonly name = 'ChatApiError';

  constructor(
    /** HTTP status, or 0 when there is none (network, socket). */
    readonly status: number,
    readonly code: ServerErrorCode | ClientErrorCode | (string & {}),
    message: string,
    readonly details?: unknown,
    /** From Retry-After (HTTP) or details.retry_after_seconds (sockets). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** The error shape, as the server would have sent it. */
  toJSON(): ServerErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }

  /** Builds the error from a server body (any JSON), falling back to a generic one. */
  static fromBody(status: number, body: unknown, retryAfterSeconds?: number): ChatApiError {
    if (isServerErrorBody(body)) {
      const retry = retryAfterSeconds ?? retryFromDetails(body.error.details);
      return new ChatApiError(status, body.error.code, body.error.message, body.error.details, retry);
    }
    return new ChatApiError(status, status >= 500 ? 'internal_error' : 'invalid_response', `Unexpected response (HTTP ${status})`, body);
  }
}

export function isServerErrorBody(value: unknown): value is ServerErrorBody {
  if (!value || typeof value !== 'object') return false;
  const e = (value as { error?: unknown }).error;
  return !!e && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string' && typeof (e as { message?: unknown }).message === 'string';
}

export function isChatApiError(value: unknown, code?: string): value is ChatApiError {
  return value instanceof ChatApiError && (code === undefined || value.code === code);
}

function retryFromDetails(details: unknown): number | undefined {
  const v = (details as { retry_after_seconds?: unknown } | undefined)?.retry_after_seconds;
  return typeof v === 'number' ? v : undefined;
}
