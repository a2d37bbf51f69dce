/**
 * Runs a flush one at a time, on the next turn of the event loop: work queued while a flush runs goes
 * together in the next one (the outbox's inserts, the dispatcher's delivered outcomes). `pending` says
 * whether work is waiting once a flush has finished.
 */
export class CoalescedFlush {
  private running?: Promise<void>;

  constructor(
    private readonly flush: () => Promise<void>,
    private readonly pending: () => boolean,
  ) {}

  soon(): void {
    if (this.running) return;
    this.running = new Promise<void>((r) => setImmediate(r))
      .then(() => this.flush())
      .finally(() => {
        this.running = undefined;
        if (this.pending()) this.soon();
      });
  }
}
