import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '../crypto/encoding';
import { searchTokens } from '../crypto/search';
import {
  PURPOSE_LABELS,
  decryptPreviewV2,
  decryptReactionV2,
  derivePurposeKey,
  encryptPreviewV2,
  encryptReactionV2,
  isReactionV2Token,
  parsePreviewV2,
  searchTokensV2,
} from './purpose-keys';

const key = (n: number) => new Uint8Array(32).fill(n);
const ctx = { tenantId: 't1', conversationId: 'c1', groupId: 'ab'.repeat(16), epoch: 7n };

describe('v2 purpose keys (HKDF of the epoch history key)', () => {
  it('derives one independent key per purpose, as HKDF-SHA256(history key, label)', () => {
    const k = key(1);
    expect(derivePurposeKey(k, 'preview')).toEqual(hkdf(sha256, k, undefined, utf8ToBytes('chat/preview/v2'), 32));
    const all = (Object.keys(PURPOSE_LABELS) as Array<keyof typeof PURPOSE_LABELS>).map((p) => Buffer.from(derivePurposeKey(k, p)).toString('hex'));
    expect(new Set(all).size).toBe(3);
    expect(derivePurposeKey(key(2), 'preview')).not.toEqual(derivePurposeKey(k, 'preview'));
    expect(() => derivePurposeKey(new Uint8Array(16), 'search')).toThrow(/32 bytes/);
  });

  it('previews name their group and epoch, open with that epoch key only, and are bound to tenant and conversation', () => {
    const p = encryptPreviewV2('hello there', key(1), ctx);
    expect(p.startsWith(`p2.${ctx.groupId}.7.`)).toBe(true);
    expect(parsePreviewV2(p)).toMatchObject({ groupId: ctx.groupId, epoch: 7n });
    expect(decryptPreviewV2(p, key(1), ctx)).toBe('hello there');
    expect(() => decryptPreviewV2(p, key(2), ctx)).toThrow();
    expect(() => decryptPreviewV2(p, key(1), { ...ctx, conversationId: 'c2' })).toThrow();
    expect(() => decryptPreviewV2(p, key(1), { ...ctx, tenantId: 't2' })).toThrow();
    // Claiming another epoch (the server rewriting the header) does not open.
    expect(() => decryptPreviewV2(p.replace('.7.', '.8.'), key(1), ctx)).toThrow();
    expect(parsePreviewV2('AAAA')).toBeNull(); // a v1 preview
    expect(encryptPreviewV2('x'.repeat(100), key(1), ctx)).toHaveLength(226); // the size docs/e2e.md gives
    // Randomised: two previews of one text differ.
    expect(encryptPreviewV2('hello there', key(1), ctx)).not.toBe(p);
    // 120 characters kept (code points, so an emoji is not cut in half).
    expect(decryptPreviewV2(encryptPreviewV2('😀'.repeat(200), key(1), ctx), key(1), ctx)).toBe('😀'.repeat(120));
  });

  it('reactions: deterministic per epoch key, message and emoji (countable), r2 tokens within the 64-character field', () => {
    const r = { conversationId: 'c1', messageId: 'm1' };
    const t = encryptReactionV2('👍', key(1), r);
    expect(t).toMatch(/^r2[A-Za-z0-9_-]+$/);
    expect(t.length).toBeLessThanOrEqual(64);
    expect(isReactionV2Token(t)).toBe(true);
    expect(encryptReactionV2('👍', key(1), r)).toBe(t);
    expect(encryptReactionV2('👍', key(2), r)).not.toBe(t);
    expect(encryptReactionV2('👍', key(1), { ...r, messageId: 'm2' })).not.toBe(t);
    expect(decryptReactionV2(t, key(1), r)).toBe('👍');
    expect(() => decryptReactionV2(t, key(2), r)).toThrow();
    expect(() => decryptReactionV2(t, key(1), { ...r, messageId: 'm2' })).toThrow();
    expect(isReactionV2Token('r1' + t.slice(2))).toBe(false);
    expect(encryptReactionV2('x'.repeat(30), key(1), r).length).toBe(64);
    expect(t.length).toBe(29); // the size docs/e2e.md gives
  });

  it('search tokens: v1 tokens under the epoch search key, equal only within an epoch', () => {
    const a = searchTokensV2('Harbour plans, harbour!', key(1));
    expect(a).toHaveLength(2);
    expect(a[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(searchTokensV2('harbour', key(1))).toEqual([a[0]]);
    expect(searchTokensV2('harbour', key(2))[0]).not.toBe(a[0]);
    expect(searchTokensV2('harbour', key(1))).toEqual(searchTokens('harbour', derivePurposeKey(key(1), 'search')));
    // Not the v1 token of the same key used as a conversation key.
    expect(searchTokens('harbour', key(1))[0]).not.toBe(a[0]);
  });
});
