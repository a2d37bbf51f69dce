import { deepFreeze, ParsedMemo } from './parsed-memo';

const view = (n: number) => JSON.stringify({ id: 'c1', participants: Array.from({ length: n }, (_, i) => ({ user_id: `u${i}`, settings: { muted: false } })) });

describe('ParsedMemo', () => {
  it('returns the same object while the raw text of a key is unchanged', () => {
    const memo = new ParsedMemo();
    const raw = view(3);
    const a = memo.parse<{ id: string }>('k', raw);
    // A new string with the same text (what a second Redis read returns), not the same string object.
    const b = memo.parse<{ id: string }>('k', (' ' + raw).slice(1));
    expect(b).toBe(a);
    expect(a).toEqual(JSON.parse(raw));
  });

  it('parses again when the text changed, and keeps the new parse', () => {
    const memo = new ParsedMemo();
    const a = memo.parse<{ participants: unknown[] }>('k', view(2));
    const b = memo.parse<{ participants: unknown[] }>('k', view(3));
    expect(b).not.toBe(a);
    expect(b.participants).toHaveLength(3);
    expect(memo.parse('k', view(3))).toBe(b);
    // The same text under another key is another entry (keys carry tenant and prefix).
    expect(memo.parse('other', view(3))).not.toBe(b);
  });

  it('freezes what it returns, all the way down: a write throws instead of changing it for every reader', () => {
    const memo = new ParsedMemo();
    const v = memo.parse<{ participants: Array<{ user_id: string; settings: { muted: boolean } }> }>('k', view(2));
    expect(() => (v as { participants: unknown[] }).participants.push({})).toThrow(TypeError);
    expect(() => {
      (v.participants[0] as { user_id: string }).user_id = 'intruder';
    }).toThrow(TypeError);
    expect(() => {
      (v.participants[1]!.settings as { muted: boolean }).muted = true;
    }).toThrow(TypeError);
    expect(memo.parse('k', view(2))).toEqual(JSON.parse(view(2)));
  });

  it('is bounded by entries, by total characters, and keeps no text longer than the entry limit', () => {
    const memo = new ParsedMemo({ maxEntries: 3, maxTotalChars: 1000, maxEntryChars: 400 });
    for (let i = 0; i < 10; i++) memo.parse(`k${i}`, view(1));
    expect(memo.size.entries).toBe(3);
    // The most recently read keys stay.
    const kept = memo.parse('k9', view(1));
    expect(memo.parse('k9', view(1))).toBe(kept);

    const big = view(12); // ~400+ characters
    expect(big.length).toBeGreaterThan(400);
    const first = memo.parse('big', big);
    const second = memo.parse('big', big);
    expect(second).not.toBe(first);
    expect(second).toEqual(first);
    expect(Object.isFrozen(second)).toBe(true);

    const sized = new ParsedMemo({ maxEntries: 100, maxTotalChars: 1000, maxEntryChars: 1000 });
    const mid = view(5); // ~200 characters
    for (let i = 0; i < 20; i++) sized.parse(`k${i}`, mid);
    expect(sized.size.chars).toBeLessThanOrEqual(1000);
    expect(sized.size.entries).toBe(Math.floor(1000 / mid.length));
  });

  it('a text that is no longer kept (too long now) drops the entry of its key', () => {
    const memo = new ParsedMemo({ maxEntries: 10, maxTotalChars: 10_000, maxEntryChars: 300 });
    memo.parse('k', view(1));
    memo.parse('k', view(20));
    expect(memo.size.entries).toBe(0);
  });

  it('answers JSON null, numbers and strings too', () => {
    const memo = new ParsedMemo();
    expect(memo.parse('n', 'null')).toBeNull();
    expect(memo.parse('n', 'null')).toBeNull();
    expect(memo.parse('s', '"x"')).toBe('x');
    expect(memo.parse('d', '4')).toBe(4);
  });

  it('throws on text that is not JSON, and keeps nothing for it', () => {
    const memo = new ParsedMemo();
    expect(() => memo.parse('k', '{')).toThrow(SyntaxError);
    expect(memo.size.entries).toBe(0);
  });
});

describe('deepFreeze', () => {
  it('freezes nested objects and arrays and returns its argument', () => {
    const v = { a: [{ b: 1 }], c: { d: { e: 'x' } } };
    expect(deepFreeze(v)).toBe(v);
    expect(Object.isFrozen(v.a[0])).toBe(true);
    expect(Object.isFrozen(v.c.d)).toBe(true);
    expect(deepFreeze(null)).toBeNull();
    expect(deepFreeze(3)).toBe(3);
  });
});
