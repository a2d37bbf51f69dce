import { randomBytes } from 'node:crypto';
import { SecretBox } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));
  it('round-trips and never repeats a ciphertext', () => {
    const a = box.seal('s3cret');
    expect(box.open(a)).toBe('s3cret');
    expect(box.seal('s3cret')).not.toBe(a);
    expect(a).not.toContain('s3cret');
  });
  it('refuses tampered data and a wrong key', () => {
    const sealed = box.seal('s3cret');
    const parts = sealed.split(':');
    parts[3] = Buffer.from('x' + Buffer.from(parts[3], 'base64url').toString('latin1')).toString('base64url');
    expect(() => box.open(parts.join(':'))).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow();
    expect(() => box.open('v2:a:b:c')).toThrow(/format/);
  });
  it('parses hex and base64 keys', () => {
    const k = randomBytes(32);
    expect(SecretBox.parseKey(k.toString('hex'))).toEqual(k);
    expect(SecretBox.parseKey(k.toString('base64'))).toEqual(k);
  });
});
