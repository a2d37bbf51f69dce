import { ConfigValidationError, loadConfig } from './app-config';

describe('loadConfig', () => {
  it('uses safe local defaults with an empty environment', () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(3000);
    expect(c.HOST).toBe('127.0.0.1');
    expect(c.MONGODB_URI).toBeUndefined();
    expect(c.MESSAGE_MAX_BYTES).toBe(65536);
  });

  it('converts numbers and booleans', () => {
    const c = loadConfig({ PORT: '8080', S3_FORCE_PATH_STYLE: 'false' });
    expect(c.PORT).toBe(8080);
    expect(c.S3_FORCE_PATH_STYLE).toBe(false);
  });

  it('names every invalid variable', () => {
    try {
      loadConfig({ PORT: 'eighty', MONGODB_URI: 'postgres://x', REDIS_URL: 'tcp://x' });
      throw new Error('expected failure');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigValidationError);
      const vars = (e as ConfigValidationError).problems.map((p) => p.variable).sort();
      expect(vars).toEqual(['MONGODB_URI', 'PORT', 'REDIS_URL']);
      expect((e as Error).message).toContain('PORT');
    }
  });

  it('bounds the MLS commit body limit by what one stored document can hold', () => {
    expect(loadConfig({}).MLS_COMMIT_BODY_LIMIT_BYTES).toBe(8 * 1024 * 1024);
    expect(loadConfig({ MLS_COMMIT_BODY_LIMIT_BYTES: String(15 * 1024 * 1024) }).MLS_COMMIT_BODY_LIMIT_BYTES).toBe(15 * 1024 * 1024);
    expect(() => loadConfig({ MLS_COMMIT_BODY_LIMIT_BYTES: String(16 * 1024 * 1024) })).toThrow(/MLS_COMMIT_BODY_LIMIT_BYTES/);
    expect(() => loadConfig({ MLS_COMMIT_BODY_LIMIT_BYTES: 'big' })).toThrow(/MLS_COMMIT_BODY_LIMIT_BYTES/);
  });

  it('refuses a webhook lease that does not outlive the attempt timeout', () => {
    expect(() => loadConfig({ WEBHOOK_LEASE_MS: '5000', WEBHOOK_TIMEOUT_MS: '5000' })).toThrow(/WEBHOOK_LEASE_MS/);
    expect(loadConfig({ WEBHOOK_LEASE_MS: '5001', WEBHOOK_TIMEOUT_MS: '5000' }).WEBHOOK_LEASE_MS).toBe(5001);
  });

  it('requires an admin JWT secret in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/ADMIN_JWT_SECRET/);
  });
});

describe('loadConfig: optional variables', () => {
  it('reads optional variables without defaults', () => {
    const c = loadConfig({ MONGODB_URI: 'mongodb://127.0.0.1:1/', TENANT_DEDICATED_DATABASES: 'big=chat_big' });
    expect(c.MONGODB_URI).toBe('mongodb://127.0.0.1:1/');
    expect(c.TENANT_DEDICATED_DATABASES).toBe('big=chat_big');
  });
});
