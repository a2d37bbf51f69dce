/**
 * What time it is, for behaviour that depends on time passing: expiry, windows, rate limits, presence.
 * Injected (not `Date.now()` inline) so tests can set the time instead of waiting for it to pass.
 * Redis-side TTLs still run on Redis's own clock.
 */
export abstract class Clock {
  /** Milliseconds since the epoch, like Date.now(). */
  abstract now(): number;
}

/** The real clock. */
export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }
}
