import { conversationKeyCheck, generateConversationKey } from './conversation-key';
import { CryptoError } from './errors';
import { MAX_REACTION_BYTES, decryptReaction, encryptReaction, isReactionToken } from './reaction';

const EMOJI_PATTERN = /^[^\s/]{1,64}$/u; // the server's rule for the emoji field

describe('encrypted reactions', () => {
  const key = generateConversationKey();
  const ctx = { conversationId: 'c1', messageId: 'm1' };

  it('round-trips and fits the server emoji field', () => {
    for (const emoji of ['👍', '❤️', '👨‍👩‍👧‍👦', ':+1:', 'ok', 'ok-thanks-all']) {
      const token = encryptReaction(emoji, key, ctx);
      expect(token).toMatch(EMOJI_PATTERN);
      expect(isReactionToken(token)).toBe(true);
      // A short ASCII text ('ok') can turn up in random base64url by chance (~0.6 % of runs for 'ok'):
      // only texts that cannot (non-base64url characters, or long enough) say the plaintext is hidden.
      if (emoji.length >= 8 || /[^A-Za-z0-9_-]/.test(emoji)) expect(token).not.toContain(emoji);
      expect(decryptReaction(token, key, ctx)).toBe(emoji);
    }
  });

  it('is deterministic per key, conversation and message (countable by the server)', () => {
    expect(encryptReaction('👍', key, ctx)).toBe(encryptReaction('👍', key, ctx));
    expect(encryptReaction('👍', key, ctx)).not.toBe(encryptReaction('👎', key, ctx));
    expect(encryptReaction('👍', key, ctx)).not.toBe(encryptReaction('👍', key, { ...ctx, messageId: 'm2' }));
    expect(encryptReaction('👍', key, ctx)).not.toBe(encryptReaction('👍', generateConversationKey(), ctx));
  });

  it('refuses tokens of another key, message or a tampered one', () => {
    const token = encryptReaction('🎉', key, ctx);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as CryptoError).code;
      }
      return 'none';
    };
    expect(code(() => decryptReaction(token, generateConversationKey(), ctx))).toBe('AUTHENTICATION_FAILED');
    expect(code(() => decryptReaction(token, key, { ...ctx, messageId: 'm2' }))).toBe('AUTHENTICATION_FAILED');
    const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    expect(['AUTHENTICATION_FAILED', 'INVALID_INPUT']).toContain(code(() => decryptReaction(flipped, key, ctx)));
    expect(code(() => decryptReaction('👍', key, ctx))).toBe('INVALID_INPUT');
  });

  it('bounds the reaction size', () => {
    expect(() => encryptReaction('x'.repeat(MAX_REACTION_BYTES + 1), key, ctx)).toThrow(CryptoError);
    expect(encryptReaction('x'.repeat(MAX_REACTION_BYTES), key, ctx).length).toBeLessThanOrEqual(64);
  });
});

describe('conversation key check', () => {
  it('is stable per key and differs between keys', () => {
    const a = generateConversationKey();
    expect(conversationKeyCheck(a)).toMatch(/^[0-9a-f]{32}$/);
    expect(conversationKeyCheck(a)).toBe(conversationKeyCheck(a));
    expect(conversationKeyCheck(a)).not.toBe(conversationKeyCheck(generateConversationKey()));
  });
});
