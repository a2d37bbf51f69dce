import { insertNewOnly, isDuplicateKeyError, onlyDuplicateKeys } from './duplicate-key';

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

describe('onlyDuplicateKeys and insertNewOnly', () => {
  it('a bulk error counts only when every write error is a duplicate key; a lone error when it is one', () => {
    expect(onlyDuplicateKeys({ writeErrors: [{ code: 11000 }, { err: { code: 11000 } }] })).toBe(true);
    expect(onlyDuplicateKeys({ writeErrors: [{ code: 11000 }, { code: 121 }] })).toBe(false);
    expect(onlyDuplicateKeys({ writeErrors: [] })).toBe(false);
    expect(onlyDuplicateKeys({ code: 11000 })).toBe(true);
    expect(onlyDuplicateKeys(new Error('connection reset'))).toBe(false);
  });
  it('returns the positions inserted, skipping duplicates, and throws any other failure', async () => {
    const failing = (err: unknown) => ({ insertMany: () => Promise.reject(err) });
    expect(await insertNewOnly({ insertMany: async () => ({ insertedIds: { 0: 'a', 1: 'b' } }) }, ['a', 'b'])).toEqual(new Set([0, 1]));
    expect(await insertNewOnly(failing({ writeErrors: [{ code: 11000, index: 1 }], insertedIds: { 0: 'a', 2: 'c' } }), ['a', 'b', 'c'])).toEqual(new Set([0, 2]));
    expect(await insertNewOnly(failing({ code: 11000 }), ['a'])).toEqual(new Set());
    await expect(insertNewOnly(failing({ writeErrors: [{ code: 121 }] }), ['a'])).rejects.toEqual({ writeErrors: [{ code: 121 }] });
    expect(await insertNewOnly(failing(new Error('never called')), [])).toEqual(new Set());
  });
});
