import { ChatApiError } from './errors';
import { TokenProvider, jwtExpiryMs } from './token-provider';
import { ChatUserClient } from './user-client';

/** A server stub: answers 401 to tokens in `refused`, 200 otherwise, and records the tokens it saw. */
function stubServer(refused: Set<string> = new Set()) {
  const seen: string[] = [];
  const f = (async (_url: string, init: RequestInit) => {
    const token = ((init.headers as Record<string, string>).Authorization ?? '').replace(/^Bearer /, '');
    seen.push(token);
    await Promise.resolve();
    if (refused.has(token)) return new Response(JSON.stringify({ error: { code: 'unauthorized', message: 'expired' } }), { status: 401 });
    return new Response(JSON.stringify({ id: 'me' }), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as unknown as typeof fetch;
  return { f, seen };
}

/** A JWT-shaped token (only its `exp` matters to the client) expiring at `expMs`. */
function jwt(n: number, expMs: number): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'HS256' })}.${b64({ sub: 'u', n, exp: Math.floor(expMs / 1000) })}.sig`;
}

describe('end-user tokens: fetched only when needed', () => {
  it('ten concurrent requests with a token function cost one token, and later requests reuse it', async () => {
    const { f, seen } = stubServer();
    let mints = 0;
    const c = new ChatUserClient({ baseUrl: 'http://x', fetch: f, token: async () => jwt(++mints, Date.now() + 3600_000) });
    await Promise.all(Array.from({ length: 10 }, () => c.me()));
    await c.me();
    expect(mints).toBe(1);
    expect(new Set(seen).size).toBe(1);
  });

  it('a 401 gets one new token and one retry; concurrent 401s share that one token', async () => {
    const refused = new Set<string>();
    const { f, seen } = stubServer(refused);
    let mints = 0;
    const c = new ChatUserClient({ baseUrl: 'http://x', fetch: f, token: () => `opaque-${++mints}` });
    await c.me();
    refused.add('opaque-1'); // revoked server-side, e.g. the application secret was rotated
    await Promise.all([c.me(), c.me(), c.me()]);
    expect(mints).toBe(2);
    expect(seen.filter((t) => t === 'opaque-2')).toHaveLength(3);
  });

  it('a token refused again after the retry is an error, not a loop', async () => {
    const { f, seen } = stubServer(new Set(['bad-1', 'bad-2', 'bad-3']));
    let mints = 0;
    const c = new ChatUserClient({ baseUrl: 'http://x', fetch: f, token: () => `bad-${++mints}` });
    const err = await c.me().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatApiError);
    expect((err as ChatApiError).status).toBe(401);
    expect(mints).toBe(2);
    expect(seen).toEqual(['bad-1', 'bad-2']);
  });

  it('a fixed token string is never retried', async () => {
    const { f, seen } = stubServer(new Set(['fixed']));
    const c = new ChatUserClient({ baseUrl: 'http://x', fetch: f, token: 'fixed' });
    await expect(c.me()).rejects.toMatchObject({ status: 401 });
    expect(seen).toEqual(['fixed']);
  });

  it('refreshes within the margin before expiry, on a clock the test drives', async () => {
    let now = 1_000_000;
    let mints = 0;
    const p = new TokenProvider({ now: () => now, refreshMarginMs: 30_000, fetchToken: () => ({ token: `t${++mints}`, expires_at: now + 60_000 }) });
    expect(await p.token()).toBe('t1');
    now += 29_000;
    expect(await p.token()).toBe('t1'); // 31 s left
    now += 2_000;
    expect(await p.token()).toBe('t2'); // 29 s left: inside the margin
    expect(mints).toBe(2);
  });

  it('reads expiry from expires_at (ISO, as the token endpoint returns it) or from the JWT exp claim', async () => {
    expect(jwtExpiryMs(jwt(1, 1_700_000_000_000))).toBe(1_700_000_000_000);
    expect(jwtExpiryMs('not-a-jwt')).toBeNull();
    let now = Date.parse('2026-01-01T00:00:00Z');
    let mints = 0;
    const p = new TokenProvider({ now: () => now, fetchToken: async () => ({ token: `t${++mints}`, expires_at: '2026-01-01T01:00:00Z' }) });
    await p.token();
    now += 3_000_000; // 10 min left
    expect(await p.token()).toBe('t1');
    now += 580_000; // 20 s left
    expect(await p.token()).toBe('t2');
  });

  it('one provider shared by several clients fetches once for all of them', async () => {
    const { f } = stubServer();
    let mints = 0;
    const provider = new TokenProvider({ fetchToken: async () => jwt(++mints, Date.now() + 3600_000) });
    const a = new ChatUserClient({ baseUrl: 'http://x', fetch: f, token: provider });
    const b = new ChatUserClient({ baseUrl: 'http://x', fetch: f, token: provider });
    await Promise.all([a.me(), b.me(), a.me(), b.me()]);
    expect(mints).toBe(1);
  });

  it('a failed fetch is not cached: the next call tries again', async () => {
    let calls = 0;
    const p = new TokenProvider({
      fetchToken: async () => {
        calls++;
        if (calls === 1) throw new Error('backend down');
        return 'ok';
      },
    });
    await expect(p.token()).rejects.toThrow('backend down');
    expect(await p.token()).toBe('ok');
  });
});
