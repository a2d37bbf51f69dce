import { isDuplicateKeyError } from './duplicate-key';

describe('isDuplicateKeyError', () => {
  it('recognises every shape the driver reports', () => {
    expect(isDuplicateKeyError({ code: 11000 })).toBe(true);
    expect(isDuplicateKeyError({ err: { code: 11000 } })).toBe(true);
    expect(isDuplicateKeyError({ writeErrors: [{ code: 1 }, { code: 11000 }] })).toBe(true);
    expect(isDuplicateKeyError(new Error('E11000 duplicate key error collection: chat.users'))).toBe(true);
    expect(isDuplicateKeyError({ errmsg: 'E11000 duplicate key' })).toBe(true);
  });
  it('rejects everything else', () => {
    expect(isDuplicateKeyError(null)).toBe(false);
    expect(isDuplicateKeyError(undefined)).toBe(false);
    expect(isDuplicateKeyError({ code: 121 })).toBe(false);
    expect(isDuplicateKeyError(new Error('connection reset'))).toBe(false);
  });
});
