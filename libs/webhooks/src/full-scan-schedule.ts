/**
 * When a dispatcher's scan is full (WebhookDispatcher.scan). Most scans ask only for rows no lease holds
 * (an equality FerretDB pushes down: the rows in flight and in backlogs are not read). Rows whose lease
 * ran out need a full scan: every leaseMs / 2 (a lease runs out no sooner than that after it was taken),
 * and from when a lease this node left to run out ends (leaseLeft) until a full scan sees none left.
 */
export class FullScanSchedule {
  /** When the last full scan ran (Clock ms). */
  private lastFull = -Infinity;
  /** Leases this node left to run out end between these (Clock ms): from leftFrom on, scans are full. */
  private leftFrom = Infinity;
  private leftTo = -Infinity;

  constructor(private readonly leaseMs: number) {}

  /** Whether the scan at `at` is full (`forced`: asked for); a full one is noted. */
  begin(at: number, forced: boolean): boolean {
    const since = at - this.lastFull;
    const full = forced || at >= this.leftFrom || since >= this.leaseMs / 2 || since < 0;
    if (full) this.lastFull = at;
    return full;
  }

  /** A full scan at `at` ended: `again` if it left rows behind that a full scan must look at again; `busy` if it left endpoints out as busy. */
  end(at: number, again: boolean, busy: boolean): void {
    if (again || (busy && at >= this.leftFrom)) this.leftFrom = Math.min(this.leftFrom, at);
    else if (at >= this.leftTo) [this.leftFrom, this.leftTo] = [Infinity, -Infinity];
    else if (at >= this.leftFrom) this.leftFrom = this.leftTo;
  }

  /** A lease this node holds is left to run out at `until` (Clock ms): full scans from then on find its row. */
  leaseLeft(until: number): void {
    this.leftFrom = Math.min(this.leftFrom, until);
    this.leftTo = Math.max(this.leftTo, until);
  }
}
