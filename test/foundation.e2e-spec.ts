import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import request from 'supertest';
import { findFreePort, waitForPort } from '@chat/dev-services';
import { spawnAllInOne } from './support/app-process';
import { createTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';

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

  it('keeps idle connections open longer than a load balancer does (HTTP_KEEP_ALIVE_TIMEOUT_MS, 65 s)', async () => {
    // Node's default (5 s) made the server close kept-alive connections clients were about to reuse.
    const res = await fetch(`${t.url}/health`);
    await res.text();
    expect(res.headers.get('keep-alive')).toBe('timeout=65');
  });

  it('unknown routes come back in the error shape', async () => {
    const res = await request(t.url).get('/no/such/route').expect(404);
    expect(res.body).toEqual({ error: { code: 'route_not_found', message: expect.any(String) } });
  });

  it('malformed JSON comes back in the error shape', async () => {
    // Bodies are read only on a route that takes them (after its guards): the public login here.
    const res = await request(t.url).post('/admin/auth/login').set('Content-Type', 'application/json').send('{"a":').expect(400);
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
    const res = await request(t.url).post('/admin/auth/login').set('Content-Type', 'application/json').send(JSON.stringify({ x: 'a'.repeat(5000) })).expect(413);
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

describe('foundation: configuration is validated at start', () => {
  // Refused at validation: a process that got past it would serve forever, so it is stopped and the test fails, not hangs.
  async function start(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const p = spawnAllInOne(env);
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 45_000);
    try {
      const code = await p.exited;
      return { code, stdout: p.stdout(), stderr: p.stderr() };
    } finally {
      clearTimeout(timer);
    }
  }

  it('an invalid value stops the process with exit code 78 and a message naming each bad variable', async () => {
    // MONGODB_URI and S3_ENDPOINT unset: had validation let it through, it would start the embedded servers.
    const r = await start({ PORT: 'abc', MESSAGE_MAX_BYTES: '12', MONGODB_URI: '', S3_ENDPOINT: '', DATA_DIR: join(process.env.CHAT_TEST_TMP ?? '/tmp', 'never-used') });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('Invalid configuration');
    expect(r.stderr).toMatch(/PORT: .*\(got "abc"\)/);
    expect(r.stderr).toMatch(/MESSAGE_MAX_BYTES: .*\(got "12"\)/);
    // Refused before anything started.
    expect(r.stdout).not.toContain('[embedded]');
  });
});

describe('foundation: readiness when Redis goes away', () => {
  // A Redis of this test's own, so it can be stopped and started again on the same port.
  let port: number;
  let redis: ChildProcess | undefined;
  let t: TestApp;

  async function startRedis(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    let exited = false;
    child.once('exit', () => (exited = true));
    redis = child;
    await waitForPort(port, '127.0.0.1', 10_000, () => !exited);
  }

  function stopRedis(): Promise<void> {
    const child = redis;
    redis = undefined;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Polls /health/ready until it answers `status` (the change is noticed on the next check, not at once). */
  async function readyUntil(status: number, timeoutMs = 20_000): Promise<request.Response> {
    let res!: request.Response;
    await waitFor(async () => (res = await request(t.url).get('/health/ready')).status === status, { timeoutMs, intervalMs: 100 }).catch((err: Error) => {
      throw new Error(`/health/ready still ${res.status} ${JSON.stringify(res.body)}: ${err.message}`);
    });
    return res;
  }

  beforeAll(async () => {
    port = await findFreePort();
    await startRedis();
    t = await createTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
  });
  afterAll(async () => {
    // Redis back first, so the app's clients can quit cleanly.
    if (!redis) await startRedis().catch(() => undefined);
    await t?.close();
    await stopRedis();
  });

  it('answers 503 naming Redis as down (MongoDB still up), and 200 again once Redis is back', async () => {
    const before = await request(t.url).get('/health/ready').expect(200);
    expect(before.body.checks.redis).toMatchObject({ status: 'up', mode: 'redis' });

    await stopRedis();
    const down = await readyUntil(503);
    expect(down.body).toMatchObject({ status: 'error', version: expect.any(String), uptime_seconds: expect.any(Number) });
    expect(down.body.checks.redis).toMatchObject({ status: 'down', mode: 'redis', message: expect.any(String) });
    expect(down.body.checks.mongodb).toEqual({ status: 'up' });
    // Liveness does not consult dependencies: the process is alive, just not ready.
    await request(t.url).get('/health').expect(200);

    await startRedis();
    const up = await readyUntil(200);
    expect(up.body.checks.redis).toMatchObject({ status: 'up', mode: 'redis' });
  });
});
