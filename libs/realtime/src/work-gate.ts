import { AppError, ErrorCode } from '@chat/errors';

/**
 * A counting semaphore with a bounded wait queue: at most `concurrency` tasks run at once on this
 * node; a task that would wait behind `maxQueued` others is refused at once (service_unavailable,
 * retry shortly) instead of piling up memory and latency.
 *
 * Why not p-limit: its last CommonJS line (3.x) starts a queued task from the call stack of the task
 * that just finished, so AsyncLocalStorage (TenantContext, request ids) would be that other task's,
 * possibly another tenant's. Here the caller awaits its own turn and runs its task itself, in its own
 * async context.
 */
export class WorkGate {
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(
    readonly concurrency: number,
    readonly maxQueued: number,
    private readonly busyMessage = 'This node is busy: retry shortly',
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('WorkGate concurrency must be an integer >= 1');
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiters.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) {
      if (this.waiters.length >= this.maxQueued) throw AppError.rateLimited(1, this.busyMessage, ErrorCode.ServiceUnavailable);
      // The slot is handed over by release(): `active` is not decremented in between, so no newcomer
      // can jump the queue.
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiters.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * Identical requests in flight at the same time share one execution: the first caller's promise is
 * handed to the others until it settles (then the next call runs again, so nothing is cached). The key
 * must hold everything the answer depends on, including who asks.
 */
export class InFlightRequests<T> {
  private readonly pending = new Map<string, Promise<T>>();

  get size(): number {
    return this.pending.size;
  }

  run(key: string, task: () => Promise<T>): Promise<T> {
    const existing = this.pending.get(key);
    if (existing) return existing;
    const p = task().finally(() => this.pending.delete(key));
    this.pending.set(key, p);
    return p;
  }
}
