/* Observability: Prometheus names the operators' dashboards rely on, and the slow-query log above
 * MONGODB_SLOW_QUERY_MS (DbCommandMonitor), against the real FerretDB. */
import { Logger } from '@nestjs/common';
import request from 'supertest';
import { createTestApp, TestApp } from './support/test-app';
import { api, createTenant } from './support/factories';

describe('observability', () => {
  let t: TestApp;
  beforeAll(async () => {
    // 1 ms: every real command is "slow", so the log line must appear.
    t = await createTestApp({ env: { MONGODB_SLOW_QUERY_MS: '1' } });
  });
  afterAll(async () => t?.close());

  it('/metrics exposes connections, messages, latency, errors by code, cache hit ratio, batch queue depth', async () => {
    const tenant = await createTenant(t);
    await api(t, tenant).get('/v1/no-such-thing').expect(404);
    await request(t.url).get('/v1/usage?period=2026-01').expect(401);
    const res = await request(t.url).get('/metrics').expect(200);
    for (const name of [
      'chat_db_command_duration_seconds',
      'chat_socket_connections',
      'chat_messages_in_total',
      'chat_message_e2e_latency_seconds',
      'chat_message_batch_queue_depth',
      'chat_cache_hit_ratio',
      'chat_http_errors_total',
    ]) {
      expect(res.text).toContain(`# TYPE ${name} `);
    }
    expect(res.text).toMatch(/chat_http_errors_total\{code="route_not_found",status="404"\} \d+/);
    expect(res.text).toMatch(/chat_http_errors_total\{code="unauthorized",status="401"\} \d+/);
  });

  it('logs queries slower than MONGODB_SLOW_QUERY_MS', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const tenant = await createTenant(t);
    await api(t, tenant).get('/v1/usage?period=2026-01').expect(200);
    const slow = warn.mock.calls.map((c) => c[0] as { msg?: string; command?: string; duration_ms?: number }).filter((m) => m && typeof m === 'object' && m.msg === 'slow query');
    warn.mockRestore();
    expect(slow.length).toBeGreaterThan(0);
    expect(slow[0]).toMatchObject({ command: expect.any(String), duration_ms: expect.any(Number) });
  });
});
