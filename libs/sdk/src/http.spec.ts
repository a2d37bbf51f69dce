import { ChatApiError, isChatApiError } from './errors';
import { ChatUserClient } from './user-client';

function fakeFetch(status: number, body: unknown, headers: Record<string, string> = {}) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const f = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
  }) as unknown as typeof fetch;
  return { f, calls };
}

describe('SDK REST client', () => {
  it('sends the bearer token (from a function, fetched once and reused) and encodes path segments and queries', async () => {
    const { f, calls } = fakeFetch(200, { data: [], next_cursor: null });
    let n = 0;
    const c = new ChatUserClient({ baseUrl: 'http://x/', token: () => `tok${++n}`, fetch: f });
    await c.history('a/b', { limit: 5, before_seq: undefined });
    await c.messageKeyShares('c1', { message_ids: ['m1', 'm2'] });
    expect(calls[0]!.url).toBe('http://x/v1/conversations/a%2Fb/messages?limit=5');
    expect((calls[0]!.init.headers as Record<string, string>).Authorization).toBe('Bearer tok1');
    expect(calls[1]!.url).toBe('http://x/v1/conversations/c1/key-shares?message_ids=m1%2Cm2');
    expect((calls[1]!.init.headers as Record<string, string>).Authorization).toBe('Bearer tok1');
  });

  it('raises the server error shape as ChatApiError, with Retry-After', async () => {
    const { f } = fakeFetch(429, { error: { code: 'rate_limited', message: 'slow down', details: { retry_after_seconds: 3 } } }, { 'retry-after': '3' });
    const c = new ChatUserClient({ baseUrl: 'http://x', token: 't', fetch: f });
    const err = await c.me().catch((e: unknown) => e);
    expect(isChatApiError(err, 'rate_limited')).toBe(true);
    expect(err).toMatchObject({ status: 429, code: 'rate_limited', message: 'slow down', retryAfterSeconds: 3 });
    expect((err as ChatApiError).toJSON()).toEqual({ error: { code: 'rate_limited', message: 'slow down', details: { retry_after_seconds: 3 } } });
  });

  it('maps network failures, timeouts and non-JSON answers to client codes', async () => {
    const down = new ChatUserClient({ baseUrl: 'http://x', token: 't', fetch: (async () => Promise.reject(new TypeError('ECONNREFUSED'))) as unknown as typeof fetch });
    await expect(down.me()).rejects.toMatchObject({ status: 0, code: 'network_error' });
    const slow = new ChatUserClient({
      baseUrl: 'http://x',
      token: 't',
      timeoutMs: 20,
      fetch: ((_u: string, init: RequestInit) =>
        new Promise((_r, reject) => init.signal!.addEventListener('abort', () => reject(new Error('aborted'))))) as unknown as typeof fetch,
    });
    await expect(slow.me()).rejects.toMatchObject({ code: 'timeout' });
    // Headers came, the body never ends (a real fetch errors the body stream when the signal aborts):
    // the timeout covers reading the answer too, so the request fails instead of pending forever.
    const stalledBody = new ChatUserClient({
      baseUrl: 'http://x',
      token: 't',
      timeoutMs: 20,
      fetch: (async (_u: string, init: RequestInit) => {
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new TextEncoder().encode('{"id":'));
            init.signal!.addEventListener('abort', () => c.error(new Error('aborted')));
          },
        });
        return new Response(body, { status: 200 });
      }) as unknown as typeof fetch,
    });
    await expect(stalledBody.me()).rejects.toMatchObject({ status: 0, code: 'timeout' });
    const html = new ChatUserClient({ baseUrl: 'http://x', token: 't', fetch: (async () => new Response('<html>bad gateway</html>', { status: 502 })) as unknown as typeof fetch });
    await expect(html.me()).rejects.toMatchObject({ status: 502, code: 'internal_error' });
  });
});
