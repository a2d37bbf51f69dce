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

/**
 * A wire view as the server builds it before JSON: the fields K (IsoDate on the wire) hold Dates, which
 * JSON.stringify writes as ISO strings. Derive a server type from its view with this rather than
 * declaring the view's fields again: `WithDates<MlsGroupView, 'updated_at'>`.
 */
export type WithDates<View, K extends keyof View> = { [P in keyof View]: P extends K ? Date | Exclude<View[P], IsoDate> : View[P] };

/** What a server value is on the wire (JSON): a Date is an ISO string, at any depth. */
export type Serialized<T> = T extends string | number | boolean | null | undefined
  ? T
  : T extends Date
    ? IsoDate
    : T extends Array<infer U>
      ? Array<Serialized<U>>
      : T extends object
        ? { [K in keyof T]: Serialized<T[K]> }
        : T;
