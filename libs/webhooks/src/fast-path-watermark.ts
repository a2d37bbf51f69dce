import { Injectable } from '@nestjs/common';
import { Clock } from '@chat/clock';

/**
 * What this process can vouch for: every change it raised on its event bus before `safeBefore()` has
 * its outbox rows stored. The fast path (ChatEventRelay and the recorders it calls) runs each recording
 * through `track`; a recording still running, or one that failed, holds the mark at the time it was
 * raised until a sweep of this process covers it (`coveredUpTo`). A change's own time (created_at,
 * edited_at, a trace's at) is set before its write commits and its event is raised, by at most
 * `overlapMs` (the sweeper's overlap), so the mark is that much earlier than the oldest open recording.
 * A process without a chat event bus (none of the shipped apps: CoreModule provides it) records nothing: it vouches for
 * nothing (`recordsEvents` false) and sweeps its own writes (OutboxSweeper).
 */
@Injectable()
export class FastPathWatermark {
  /** Raise times (Clock ms) of recordings still running, by token. */
  private readonly open = new Map<number, number>();
  /** Raise times of recordings that failed and no sweep of this process has covered yet. */
  private readonly failed: number[] = [];
  private next = 0;
  private idleWaiters: Array<() => void> = [];
  recordsEvents = false;

  constructor(private readonly clock: Clock) {}

  /** Runs one fast-path recording, raised now (its change is durable). */
  track<T>(work: () => Promise<T>): Promise<T> {
    const token = this.next++;
    const raisedAt = this.clock.now();
    this.open.set(token, raisedAt);
    let p: Promise<T>;
    try {
      p = work();
    } catch (err) {
      p = Promise.reject(err);
    }
    return p.then(
      (v) => (this.close(token), v),
      (err: unknown) => {
        this.failed.push(raisedAt);
        this.close(token);
        throw err;
      },
    );
  }

  /** A recording that could not even start (its handler threw): counts as one failed now. */
  noteFailure(): void {
    this.failed.push(this.clock.now());
  }

  /** Changes of this process dated before this are recorded (see the class). */
  safeBefore(overlapMs: number): Date {
    let oldest = this.clock.now();
    for (const t of this.open.values()) oldest = Math.min(oldest, t);
    for (const t of this.failed) oldest = Math.min(oldest, t);
    return new Date(oldest - overlapMs);
  }

  /** The raise time of the oldest failed recording no sweep has covered yet. */
  oldestFailure(): number | undefined {
    return this.failed.length ? Math.min(...this.failed) : undefined;
  }

  /** A sweep of this process's window up to `to` (Clock ms) succeeded: failures raised before it are covered. */
  coveredUpTo(to: number): void {
    for (let i = this.failed.length - 1; i >= 0; i--) if (this.failed[i]! < to) this.failed.splice(i, 1);
  }

  /** Resolves once no recording is running (at shutdown), or after `maxMs`. */
  idle(maxMs: number): Promise<void> {
    if (!this.open.size) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, maxMs);
      timer.unref();
      this.idleWaiters.push(() => (clearTimeout(timer), resolve()));
    });
  }

  /** Nothing running and nothing failed: the process has recorded every change it raised. */
  clean(): boolean {
    return !this.open.size && !this.failed.length;
  }

  private close(token: number): void {
    this.open.delete(token);
    if (!this.open.size) for (const w of this.idleWaiters.splice(0)) w();
  }
}
