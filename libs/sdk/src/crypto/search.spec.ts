import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { generateConversationKey } from './conversation-key';
import { bytesToHex, utf8ToBytes } from './encoding';
import { normalizeSearchText, searchTokens } from './search';

describe('normalizeSearchText', () => {
  it('applies NFKC, lower case, diacritic and punctuation stripping, min length and dedupe', () => {
    expect(normalizeSearchText('Héllo, WORLD! hello... a I ok')).toEqual(['hello', 'world', 'ok']);
    expect(normalizeSearchText('Crème BRÛLÉE — naïve café')).toEqual(['creme', 'brulee', 'naive', 'cafe']);
    expect(normalizeSearchText('ｆｕｌｌｗｉｄｔｈ ﬁle')).toEqual(['fullwidth', 'file']); // NFKC
    expect(normalizeSearchText("don't stop-me now_please #tag @bob")).toEqual(['dont', 'stop', 'me', 'now', 'please', 'tag', 'bob']);
    expect(normalizeSearchText('  \t\n ')).toEqual([]);
    expect(normalizeSearchText('Straße İstanbul ΟΔΥΣΣΕΥΣ')).toEqual(['straße', 'istanbul', 'οδυσσευσ']);
    expect(normalizeSearchText('Οδυσσευς οδυσσευσ')).toEqual(['οδυσσευσ']);
    expect(normalizeSearchText('日本語 テキスト')).toEqual(['日本語', 'テキスト']);
    expect(normalizeSearchText('🍕🍕 pizza🍕')).toEqual(['pizza']);
  });
});

describe('searchTokens', () => {
  const key = generateConversationKey();

  it('is 16-byte hex HMAC-SHA256 under HKDF(conversationKey, "search-v1")', () => {
    const tokens = searchTokens('Hello world', key);
    expect(tokens).toHaveLength(2);
    for (const t of tokens) expect(t).toMatch(/^[0-9a-f]{32}$/);
    const k = hkdf(sha256, key, undefined, utf8ToBytes('search-v1'), 32);
    expect(tokens[0]).toBe(bytesToHex(hmac(sha256, k, utf8ToBytes('hello')).subarray(0, 16)));
  });

  it('same word + same key => same token, regardless of case/accents/punctuation', () => {
    const a = searchTokens('Café', key);
    expect(searchTokens('cafe!', key)).toEqual(a);
    expect(searchTokens('CAFÉ', key)).toEqual(a);
    expect(searchTokens('we met at the café yesterday', key)).toContain(a[0]);
  });

  it('dedupes and keeps first-occurrence order', () => {
    const t = searchTokens('beta alpha beta ALPHA gamma', key);
    expect(t).toEqual(searchTokens('beta alpha gamma', key));
    expect(new Set(t).size).toBe(3);
  });

  it('different conversation keys give unrelated tokens', () => {
    const other = generateConversationKey();
    const a = searchTokens('meeting tomorrow', key);
    const b = searchTokens('meeting tomorrow', other);
    expect(a.some((t) => b.includes(t))).toBe(false);
  });

  it('different words give different tokens; short words give none', () => {
    const [x, y] = searchTokens('apple apply', key);
    expect(x).not.toBe(y);
    expect(searchTokens('a b c', key)).toEqual([]);
  });

  it('does not contain the words', () => {
    expect(searchTokens('password', key).join('')).not.toContain('password');
  });
});
