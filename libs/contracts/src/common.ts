/**
 * An ISO-8601 timestamp as sent on the wire (`2026-01-01T00:00:00.000Z`).
 * @format date-time
 */
export type IsoDate = string;

/** A page of a list: `next_cursor` is null on the last page; send it back as `cursor` for the next. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** The one error shape of every HTTP error response and every refused socket ack (libs/errors). */
export interface ErrorResponse {
  error: {
    /** Stable machine-readable code (`not_found`, `validation_failed`, `rate_limited`, ...). */
    code: string;
    message: string;
    /** Code-specific data, e.g. the failed fields of `validation_failed` or `retry_after_seconds`. */
    details?: unknown;
  };
}
