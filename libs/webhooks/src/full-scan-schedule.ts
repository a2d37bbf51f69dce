/** How often a full scan also looks for rows stored without `parked` (by a version before it was always written). */
export const LEGACY_SCAN_EVERY_MS = 10 * 60_000;

/**
 * When a dispatcher's scan is full (DueRowScans.scan). Most scans ask only for rows no lease holds
 * (an equality FerretDB pushes down: the rows in flight and in backlogs are not read). Rows whose lease
 * ran out need a full scan: every leaseMs / 2 (a lease runs out no sooner than that after it was taken),
 * and from when a lease this node left to run out ends (leaseLeft) until a full scan sees none left.
 * Every scan asks `parked: false` by equality (a GIN index serves it on FerretDB, so a long outage's parked
 * rows cost it nothing); the first full scan and one every LEGACY_SCAN_EVERY_MS ask `parked $ne true`
 * instead, which also finds rows an older version stored without the field (a pass of PostgreSQL over
 * the table on FerretDB, so not at every full scan, which can be every dispatch interval for a while).
 */
export class FullScanSchedule {
  /** When the last full scan ran (Clock ms). */
  private lastFull = -Infinity;
  /** Leases this node left to run out end between these (Clock ms): from leftFrom on, scans are full. */
  private leftFrom = Infinity;
  private leftTo = -Infinity;
  /** When a full scan last looked for rows without `parked` (Clock ms). */
  private lastLegacy = -Infinity;

  constructor(private readonly leaseMs: number) {}

  /** Whether the scan at `at` is full (`forced`: asked for); a full one is noted. */
  begin(at: number, forced: boolean): boolean {
    const since = at - this.lastFull;
    const full = forced || at >= this.leftFrom || since >= this.leaseMs / 2 || since < 0;
    if (full) this.lastFull = at;
    return full;
  }

  /** Whether the full scan beginning at `at` also looks for rows stored without `parked`; if so it is noted. */
  legacy(at: number): boolean {
    const since = at - this.lastLegacy;
    if (since < LEGACY_SCAN_EVERY_MS && since >= 0) return false;
    this.lastLegacy = at;
    return true;
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
