/**
 * Time as the webhooks code sees it. The dispatcher and backoff read time only through this seam so a
 * test can move time forward (retry windows of 24 hours) instead of sleeping. Kept inside libs/webhooks
 * because the project has no shared Clock yet; swap for the shared one when it lands.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock a test drives by hand. */
export class ManualClock implements Clock {
  constructor(private t = Date.now()) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
