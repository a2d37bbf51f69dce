/**
 * Runs a flush one at a time, on the next turn of the event loop or `windowMs` later: work queued
 * meanwhile, and while a flush runs, goes together in the next one (the outbox's inserts, the
 * dispatcher's delivered outcomes). `pending` says whether work is waiting once a flush has finished;
 * `full`, asked at each `soon()`, ends the window early (enough work for one flush is waiting).
 */
export class CoalescedFlush {
  private running?: Promise<void>;
  /** Ends the current window now (set while one is open). */
  private endWindow?: () => void;

  constructor(
    private readonly flush: () => Promise<void>,
    private readonly pending: () => boolean,
    private readonly windowMs = 0,
    private readonly full: () => boolean = () => false,
  ) {}

  soon(): void {
    if (this.running) {
      if (this.endWindow && this.full()) this.endWindow();
      return;
    }
    this.running = new Promise<void>((r) => {
      if (this.windowMs <= 0 || this.full()) return setImmediate(r);
      const timer = setTimeout(() => this.endWindow?.(), this.windowMs);
      this.endWindow = () => {
        clearTimeout(timer);
        this.endWindow = undefined;
        r();
      };
    })
      .then(() => this.flush())
      .finally(() => {
        this.running = undefined;
        if (this.pending()) this.soon();
      });
  }
}
