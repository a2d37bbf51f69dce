import { ChatApiError } from './errors';
import { FetchedToken, TokenProvider } from './token-provider';

/**
 * A credential: fixed, a function returning one (end-user tokens: called only when none is held, it is
 * about to expire, or the server refused it, see TokenProvider), or a TokenProvider (share one between
 * ChatUserClient and ChatSocket).
 */
export type Credential = string | (() => string | FetchedToken | Promise<string | FetchedToken>) | TokenProvider;

export interface HttpOptions {
  /** Server base URL, e.g. https://chat.example.com (the SDK adds /v1/...). */
  baseUrl: string;
  /** Per-request timeout in milliseconds (default 30 s). */
  timeoutMs?: number;
  /** A fetch implementation (default: the global fetch of Node >= 18 and browsers). */
  fetch?: typeof fetch;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

export type Query = Record<string, string | number | boolean | undefined | null | readonly string[]>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
}

export async function resolveCredential(c: Credential): Promise<string> {
  if (c instanceof TokenProvider) return c.token();
  if (typeof c !== 'function') return c;
  const got = await c();
  return typeof got === 'string' ? got : got.token;
}

/** How a client authenticates: the headers of a request, and what to do when the server answers 401. */
export interface HttpAuth {
  headers(): Promise<{ headers: Record<string, string>; credential: string }>;
  /** A fresh credential after a 401 with `rejected`, or null when there is no other to try. */
  unauthorized?(rejected: string): Promise<string | null>;
}

/** `Authorization: Bearer` from a credential; a function or provider gets one retry on a 401 with a fresh token. */
export function bearerAuth(credential: Credential): HttpAuth {
  if (typeof credential === 'string') return { headers: async () => ({ headers: { Authorization: `Bearer ${credential}` }, credential }) };
  const provider = credential instanceof TokenProvider ? credential : new TokenProvider({ fetchToken: credential });
  return {
    headers: async () => {
      const token = await provider.token();
      return { headers: { Authorization: `Bearer ${token}` }, credential: token };
    },
    unauthorized: (rejected) => provider.rejected(rejected),
  };
}

function queryString(q: Query | undefined): string {
  if (!q) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null) continue;
    const value = Array.isArray(v) ? v.join(',') : String(v);
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(value)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Encodes one path segment (ids come from users of the SDK: never trust them to be URL-safe). */
export const seg = (value: string | number) => encodeURIComponent(String(value));

/** Methods whose repetition has the same effect as one request (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/**
 * JSON over fetch: adds the credential header, applies the timeout, and turns every non-2xx answer
 * into a ChatApiError carrying the server's error shape. No Node-only APIs: runs in browsers too.
 */
export class HttpClient {
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;

  private readonly auth: HttpAuth;

  constructor(
    private readonly opts: HttpOptions,
    auth: HttpAuth | (() => Promise<Record<string, string>>),
  ) {
    this.auth = typeof auth === 'function' ? { headers: async () => ({ headers: await auth(), credential: '' }) } : auth;
    this.base = opts.baseUrl.replace(/\/+$/, '');
    const f = opts.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (!f) throw new Error('No fetch implementation: pass one in the options');
    this.fetchImpl = f.bind(globalThis);
  }

  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const auth = await this.auth.headers();
    try {
      return await this.send<T>(method, path, o, auth.headers);
    } catch (err) {
      // One retry with a fresh token when the server refused the one sent (expired early, revoked key).
      if (!(err instanceof ChatApiError) || err.status !== 401 || !this.auth.unauthorized) throw err;
      const fresh = await this.auth.unauthorized(auth.credential);
      if (fresh === null || fresh === auth.credential) throw err;
      return this.send<T>(method, path, o, { Authorization: `Bearer ${fresh}` });
    }
  }

  private async send<T>(method: string, path: string, o: RequestOptions, authHeaders: Record<string, string>): Promise<T> {
    try {
      return await this.sendOnce<T>(method, path, o, authHeaders);
    } catch (err) {
      // A kept-alive connection the server closed just as it was reused fails with no answer (the
      // server's idle timer and this request race). An idempotent request is sent once more, on a fresh
      // connection; anything else may have reached the server and is never repeated here.
      if (!(err instanceof ChatApiError) || err.code !== 'network_error' || !IDEMPOTENT.has(method.toUpperCase()) || o.signal?.aborted) throw err;
      return this.sendOnce<T>(method, path, o, authHeaders);
    }
  }

  private async sendOnce<T>(method: string, path: string, o: RequestOptions, authHeaders: Record<string, string>): Promise<T> {
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), this.opts.timeoutMs ?? 30_000);
    const onAbort = () => controller.abort();
    o.signal?.addEventListener('abort', onAbort);
    const headers: Record<string, string> = { Accept: 'application/json', ...this.opts.headers, ...authHeaders };
    if (o.body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    let text: string;
    // The timeout covers the whole exchange, reading the answer's body included: a body that stops
    // coming would otherwise leave the request pending forever, with no timer left to end it.
    try {
      res = await this.fetchImpl(`${this.base}${path}${queryString(o.query)}`, {
        method,
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        signal: controller.signal,
      });
      text = await res.text();
    } catch (err) {
      const timedOut = controller.signal.aborted && !o.signal?.aborted;
      throw new ChatApiError(0, timedOut ? 'timeout' : 'network_error', timedOut ? `${method} ${path} timed out` : `${method} ${path} failed: ${(err as Error)?.message ?? err}`);
    } finally {
      clearTimeout(timeout);
      o.signal?.removeEventListener('abort', onAbort);
    }
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    if (!res.ok) {
      const retry = Number(res.headers.get('retry-after'));
      throw ChatApiError.fromBody(res.status, body, Number.isFinite(retry) && retry > 0 ? retry : undefined);
    }
    return body as T;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query });
  }
  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, { body: body ?? {} });
  }
  put<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body: body ?? {} });
  }
  patch<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body: body ?? {} });
  }
  delete<T = void>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }
}
