import request from 'supertest';
import { createTestApp, TestApp } from './support/test-app';

describe('foundation (real FerretDB, Redis, S3)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('GET /health is live', async () => {
    const res = await request(t.url).get('/health').expect(200);
    expect(res.body.status).toBe('ok');
    expect(typeof res.body.version).toBe('string');
  });

  it('GET /health/ready reports MongoDB and Redis separately', async () => {
    const res = await request(t.url).get('/health/ready').expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.checks.mongodb.status).toBe('up');
    expect(res.body.checks.redis).toMatchObject({ status: 'up', mode: 'redis' });
    expect(res.body.uptime_seconds).toBeGreaterThanOrEqual(0);
  });

  it('unknown routes come back in the error shape', async () => {
    const res = await request(t.url).get('/no/such/route').expect(404);
    expect(res.body).toEqual({ error: { code: 'route_not_found', message: expect.any(String) } });
  });

  it('malformed JSON comes back in the error shape', async () => {
    const res = await request(t.url).post('/health').set('Content-Type', 'application/json').send('{"a":').expect(400);
    expect(res.body).toEqual({ error: { code: 'invalid_json', message: expect.any(String) } });
  });

  it('echoes a well-formed X-Request-Id and makes one otherwise', async () => {
    const a = await request(t.url).get('/health').set('X-Request-Id', 'abc-123');
    expect(a.headers['x-request-id']).toBe('abc-123');
    const b = await request(t.url).get('/health').set('X-Request-Id', 'bad id with spaces');
    expect(b.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves the OpenAPI document', async () => {
    const res = await request(t.url).get('/docs/openapi.json').expect(200);
    expect(res.body.openapi).toMatch(/^3\./);
  });
});

describe('foundation: oversized bodies', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { BODY_LIMIT_BYTES: '2048' } });
  });
  afterAll(async () => t?.close());

  it('answers 413 in the error shape', async () => {
    const res = await request(t.url).post('/health').set('Content-Type', 'application/json').send(JSON.stringify({ x: 'a'.repeat(5000) })).expect(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });
});

describe('foundation: metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  it('exposes Prometheus metrics including DB command latency', async () => {
    await request(t.url).get('/health/ready').expect(200);
    const res = await request(t.url).get('/metrics').expect(200);
    expect(res.text).toContain('process_cpu_user_seconds_total');
    expect(res.text).toContain('chat_db_command_duration_seconds');
  });
});
