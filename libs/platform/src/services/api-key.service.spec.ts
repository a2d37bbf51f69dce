import { hashApiKey, parseApiKey, SCOPE_RE, scopeAllows } from './api-key.service';

describe('API key helpers', () => {
  it('parses only the ck_<prefix>_<secret> format', () => {
    const key = `ck_0123456789ab_${'a'.repeat(43)}`;
    expect(parseApiKey(key)).toEqual({ prefix: '0123456789ab' });
    expect(parseApiKey(`ck_0123456789ab_${'a'.repeat(42)}`)).toBeNull();
    expect(parseApiKey(`ck_0123456789AB_${'a'.repeat(43)}`)).toBeNull();
    expect(parseApiKey('Bearer x')).toBeNull();
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('grants exact scopes, resource wildcards and *', () => {
    expect(scopeAllows(['users:write'], 'users:write')).toBe(true);
    expect(scopeAllows(['users:write'], 'users:read')).toBe(false);
    expect(scopeAllows(['users:*'], 'users:read')).toBe(true);
    expect(scopeAllows(['users:*'], 'messages:read')).toBe(false);
    expect(scopeAllows(['*'], 'files:write')).toBe(true);
    expect(scopeAllows([], 'files:write')).toBe(false);
    expect(['users:write', 'files:*', '*'].every((s) => SCOPE_RE.test(s))).toBe(true);
    expect(['Users:write', 'users', 'users:admin', '**', ''].some((s) => SCOPE_RE.test(s))).toBe(false);
  });
});
