import type { INestApplicationContext } from '@nestjs/common';
import { Clock } from '@chat/clock';

/**
 * A clock the test moves by hand. It starts at the real time (so timestamps look normal) and then
 * stands still: what depends on it (expiry, windows, rate limits) changes only when the test says so,
 * however slow the machine is.
 */
export class TestClock extends Clock {
  private t: number;

  constructor(start = Date.now()) {
    super();
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  advance(ms: number): void {
    this.t += ms;
  }

  set(ms: number): void {
    this.t = ms;
  }
}

/**
 * Makes the app's Clock read `clock` (every consumer asks the one Clock instance at each use). Several
 * apps in one test can share one TestClock. Call before the behaviour under test starts (e.g. before
 * sockets connect: a socket's rate-limit bucket reads the time when it is made).
 */
export function useTestClock(app: INestApplicationContext, clock = new TestClock()): TestClock {
  app.get(Clock).now = () => clock.now();
  return clock;
}

/** Gives the app its real clock back (for apps shared by several tests). */
export function restoreClock(app: INestApplicationContext): void {
  delete (app.get(Clock) as { now?: unknown }).now;
}
