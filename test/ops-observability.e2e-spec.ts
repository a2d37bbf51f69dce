/* Observability: Prometheus names the operators' dashboards rely on, and the slow-query log above
 * MONGODB_SLOW_QUERY_MS (DbCommandMonitor), against the real FerretDB. */
import { Logger } from '@nestjs/common';
import request from 'supertest';
import { createTestApp, TestApp } from './support/test-app';
import { api, createTenant } from './support/factories';
import { ask, askOk, closeAllSockets, connectSocket, createRealtimeTenant, envelope, nextEvent, waitFor } from './support/socket-client';

describe('observability', () => {
  let t: TestApp;
  beforeAll(async () => {
    // 1 ms: every real command is "slow", so the log line must appear.
    t = await createTestApp({ env: { MONGODB_SLOW_QUERY_MS: '1' } });
  });
  afterEach(() => closeAllSockets());
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

  it('/metrics moves with real traffic: connections, messages in and out, latencies, socket error codes', async () => {
    /** The sum of a metric's samples whose line matches `filter` (all label sets by default). */
    const scrape = async () => (await request(t.url).get('/metrics').expect(200)).text;
    const sum = (text: string, name: string, filter = '') =>
      text
        .split('\n')
        .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(filter))
        .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    const w = await createRealtimeTenant(t.app);
    const conv = await w.group(['m1', 'm2']);
    const before = await scrape();
    const a = await connectSocket(t.url, await w.token('m1'));
    const b = await connectSocket(t.url, await w.token('m2'));
    const during = await scrape();
    expect(sum(during, 'chat_socket_connections') - sum(before, 'chat_socket_connections')).toBe(2);
    const sent = await askOk(a, 'message:send', { conversation_id: conv, content: envelope(['m1', 'm2']) });
    await nextEvent(b, 'message:new', (m: any) => m.id === sent.id);
    expect((await ask(a, 'message:send', { conversation_id: conv })) as any).toMatchObject({ error: { code: 'validation_failed' } });
    const after = await scrape();
    const delta = (name: string, filter = '') => sum(after, name, filter) - sum(before, name, filter);
    expect(delta('chat_messages_in_total', 'result="stored"')).toBe(1);
    expect(delta('chat_socket_fanout_total', 'event="message:new"')).toBeGreaterThanOrEqual(1);
    expect(delta('chat_message_e2e_latency_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(delta('chat_message_batch_write_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(delta('chat_db_command_duration_seconds_count')).toBeGreaterThan(0);
    expect(delta('chat_socket_events_total', 'result="validation_failed"')).toBe(1);
    expect(delta('chat_socket_events_total', 'result="ok"')).toBeGreaterThanOrEqual(1);
    a.disconnect();
    b.disconnect();
    await waitFor(async () => sum(await scrape(), 'chat_socket_connections') === sum(before, 'chat_socket_connections'), 5000, 'connections gauge back down');
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
