import { generateConversationKey } from './conversation-key';
import { base64ToBytes, bytesToBase64 } from './encoding';
import { decryptPreview, encryptPreview } from './preview';

describe('encrypted previews', () => {
  const key = generateConversationKey();

  it('round-trips with and without a conversation id', () => {
    const enc = encryptPreview('Alice: see you at 8 🍕', key, { conversationId: 'c1' });
    expect(decryptPreview(enc, key, { conversationId: 'c1' })).toBe('Alice: see you at 8 🍕');
    expect(decryptPreview(encryptPreview('', key), key)).toBe('');
    expect(base64ToBytes(enc).length).toBe(24 + new TextEncoder().encode('Alice: see you at 8 🍕').length + 16);
  });

  it('is randomised and bound to the key and conversation', () => {
    const a = encryptPreview('same', key, { conversationId: 'c1' });
    expect(a).not.toBe(encryptPreview('same', key, { conversationId: 'c1' }));
    expect(() => decryptPreview(a, generateConversationKey(), { conversationId: 'c1' })).toThrow(
      expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }),
    );
    expect(() => decryptPreview(a, key, { conversationId: 'c2' })).toThrow(
      expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }),
    );
    const bytes = base64ToBytes(a);
    bytes[bytes.length - 1]! ^= 1;
    expect(() => decryptPreview(bytesToBase64(bytes), key, { conversationId: 'c1' })).toThrow(
      expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }),
    );
  });

  it('rejects a conversation key of the wrong size', () => {
    expect(() => encryptPreview('x', new Uint8Array(16))).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});
