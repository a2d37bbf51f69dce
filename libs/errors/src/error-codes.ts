import { HttpStatus } from '@nestjs/common';

/** Stable, machine-readable error codes. Clients switch on these; never rename one. */
export const ErrorCode = {
  BadRequest: 'bad_request',
  InvalidJson: 'invalid_json',
  ValidationFailed: 'validation_failed',
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  TenantSuspended: 'tenant_suspended',
  /** The end user is banned tenant-wide (moderation): every request, handshake and event. */
  UserBanned: 'user_banned',
  /** The conversation is frozen (moderation): read-only for everyone. */
  ConversationFrozen: 'conversation_frozen',
  /** The sender is muted in this conversation (moderation): read-only for them. */
  MemberMuted: 'member_muted',
  NotFound: 'not_found',
  RouteNotFound: 'route_not_found',
  Conflict: 'conflict',
  PayloadTooLarge: 'payload_too_large',
  UnsupportedMediaType: 'unsupported_media_type',
  RateLimited: 'rate_limited',
  QuotaExceeded: 'quota_exceeded',
  MissingRecipientKeys: 'missing_recipient_keys',
  UploadVerificationFailed: 'upload_verification_failed',
  FrankingMismatch: 'franking_mismatch',
  ActionUnavailable: 'action_unavailable',
  ServiceUnavailable: 'service_unavailable',
  Internal: 'internal_error',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  bad_request: HttpStatus.BAD_REQUEST,
  invalid_json: HttpStatus.BAD_REQUEST,
  validation_failed: HttpStatus.BAD_REQUEST,
  unauthorized: HttpStatus.UNAUTHORIZED,
  forbidden: HttpStatus.FORBIDDEN,
  tenant_suspended: HttpStatus.FORBIDDEN,
  user_banned: HttpStatus.FORBIDDEN,
  conversation_frozen: HttpStatus.FORBIDDEN,
  member_muted: HttpStatus.FORBIDDEN,
  not_found: HttpStatus.NOT_FOUND,
  route_not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  payload_too_large: HttpStatus.PAYLOAD_TOO_LARGE,
  unsupported_media_type: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  rate_limited: HttpStatus.TOO_MANY_REQUESTS,
  quota_exceeded: HttpStatus.TOO_MANY_REQUESTS,
  missing_recipient_keys: HttpStatus.UNPROCESSABLE_ENTITY,
  upload_verification_failed: HttpStatus.UNPROCESSABLE_ENTITY,
  franking_mismatch: HttpStatus.UNPROCESSABLE_ENTITY,
  action_unavailable: HttpStatus.UNPROCESSABLE_ENTITY,
  service_unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  internal_error: HttpStatus.INTERNAL_SERVER_ERROR,
};
