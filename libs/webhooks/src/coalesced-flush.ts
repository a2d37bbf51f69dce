/**
 * Runs a flush one at a time, on the next turn of the event loop or `windowMs` later: work queued
 * meanwhile, and while a flush runs, goes together in the next one (the outbox's inserts, the
 * dispatcher's delivered outcomes). `pending` says whether work is waiting once a flush has finished.
 */
export class CoalescedFlush {
  private running?: Promise<void>;

  constructor(
    private readonly flush: () => Promise<void>,
    private readonly pending: () => boolean,
    private readonly windowMs = 0,
  ) {}

  soon(): void {
    if (this.running) return;
    this.running = new Promise<void>((r) => (this.windowMs > 0 ? setTimeout(r, this.windowMs) : setImmediate(r)))
      .then(() => this.flush())
      .finally(() => {
        this.running = undefined;
        if (this.pending()) this.soon();
      });
  }
}
