/**
 * Delay before retry number `attempt` (1 = the first retry): base * 2^(attempt-1), capped at max, with
 * "full jitter" over the upper half (so a burst of failures does not come back in lockstep, yet the
 * delay never drops below half the nominal value). `random` is a seam for tests.
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const nominal = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40));
  return Math.round(nominal / 2 + random() * (nominal / 2));
}
