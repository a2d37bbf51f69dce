import type { MessageView } from './message.view';
import { hasPendingHole } from './recent-messages';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const GRACE = 5000;
/** Newest first, as the page is read: [seq, submitted ms before NOW]. */
const page = (...rows: Array<[number, number]>) => rows.map(([seq, ago]) => ({ seq, created_at: new Date(NOW - ago).toISOString() }) as MessageView);

describe('hasPendingHole', () => {
  it('a contiguous page has none', () => {
    expect(hasPendingHole(page([3, 0], [2, 0], [1, 0]), true, NOW, GRACE)).toBe(false);
    expect(hasPendingHole([], true, NOW, GRACE)).toBe(false);
  });

  it('a hole below a message submitted within the grace period is pending', () => {
    expect(hasPendingHole(page([3, 100], [1, 200]), true, NOW, GRACE)).toBe(true);
  });

  it('a hole below a message older than the grace period is not (abandoned, or purged)', () => {
    expect(hasPendingHole(page([3, GRACE + 1], [1, GRACE + 2]), true, NOW, GRACE)).toBe(false);
  });

  it('below the oldest message only counts when the page is the whole conversation', () => {
    expect(hasPendingHole(page([3, 0], [2, 0]), true, NOW, GRACE)).toBe(true);
    expect(hasPendingHole(page([3, 0], [2, 0]), false, NOW, GRACE)).toBe(false);
    expect(hasPendingHole(page([3, GRACE + 1], [2, GRACE + 1]), true, NOW, GRACE)).toBe(false);
  });
});
