import { FullScanSchedule, LEGACY_SCAN_EVERY_MS } from './full-scan-schedule';

describe('FullScanSchedule', () => {
  it('a scan is full every leaseMs / 2, and from a lease left to run out until a full scan sees none left', () => {
    const s = new FullScanSchedule(10_000);
    expect(s.begin(0, false)).toBe(true);
    s.end(0, false, false);
    expect(s.begin(4_999, false)).toBe(false);
    expect(s.begin(5_000, false)).toBe(true);
    s.leaseLeft(6_000);
    expect(s.begin(5_500, false)).toBe(false);
    expect(s.begin(6_000, false)).toBe(true);
    s.end(6_000, false, false);
    expect(s.begin(6_100, false)).toBe(false);
  });

  it('the first full scan and one every LEGACY_SCAN_EVERY_MS look for rows stored without `parked`', () => {
    const s = new FullScanSchedule(10_000);
    expect(s.legacy(1_000)).toBe(true);
    expect(s.legacy(1_000 + LEGACY_SCAN_EVERY_MS - 1)).toBe(false);
    expect(s.legacy(1_000 + LEGACY_SCAN_EVERY_MS)).toBe(true);
    // A clock set back (a test clock, a corrected host clock) does not postpone them.
    expect(s.legacy(0)).toBe(true);
  });
});
