import { TypingThrottle } from './typing';

describe('TypingThrottle', () => {
  it('relays a start at most once per interval and a stop only after a start', () => {
    let now = 0;
    const t = new TypingThrottle(1000, () => now);
    expect(t.stop('c')).toBe(false);
    expect(t.start('c')).toBe(true);
    expect(t.start('c')).toBe(false);
    expect(t.start('d')).toBe(true);
    now = 999;
    expect(t.start('c')).toBe(false);
    now = 1000;
    expect(t.start('c')).toBe(true);
    expect(t.stop('c')).toBe(true);
    expect(t.stop('c')).toBe(false);
    expect(t.start('c')).toBe(true);
    expect(t.drain().sort()).toEqual(['c', 'd']);
    expect(t.drain()).toEqual([]);
  });
});
