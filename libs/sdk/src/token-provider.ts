/**
 * End-user tokens, fetched only when needed: when there is none yet, when the one held expires within
 * `refreshMarginMs`, or when the server refused it (401). Concurrent callers share one fetch (single
 * flight), so ten requests at once cost one token, not ten. Use one provider per user: pass the same
 * instance to ChatUserClient and ChatSocket so they share the token.
 */
export interface FetchedToken {
  token: string;
  /** ISO date or epoch milliseconds (what POST /v1/users/{id}/tokens returns as `expires_at`). */
  expires_at?: string | number | Date;
}

export interface TokenProviderOptions {
  /** Gets a fresh token, e.g. from your backend (which calls POST /v1/users/{id}/tokens with its API key). */
  fetchToken: () => string | FetchedToken | Promise<string | FetchedToken>;
  /** Fetch a new token this long before the current one expires (default 30 s). */
  refreshMarginMs?: number;
  /** Clock in epoch milliseconds (tests). */
  now?: () => number;
}

/** `exp` of a JWT (without verifying it: the server does), in epoch ms; null when it is not a JWT with one. */
export function jwtExpiryMs(token: string): number | null {
  const part = token.split('.')[1];
  if (!part || token.split('.').length !== 3) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const exp = (JSON.parse(atob(b64)) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null;
  }
}

function expiryOf(f: FetchedToken): number | null {
  if (f.expires_at !== undefined) {
    const ms = f.expires_at instanceof Date ? f.expires_at.getTime() : typeof f.expires_at === 'number' ? f.expires_at : Date.parse(f.expires_at);
    if (Number.isFinite(ms)) return ms;
  }
  return jwtExpiryMs(f.token);
}

export class TokenProvider {
  private current: { token: string; expiresAt: number | null } | null = null;
  private inflight: Promise<string> | null = null;
  private readonly margin: number;
  private readonly now: () => number;

  constructor(private readonly opts: TokenProviderOptions) {
    this.margin = opts.refreshMarginMs ?? 30_000;
    this.now = opts.now ?? Date.now;
  }

  /** The token to send: the one held while it is good for longer than the margin, else a fresh one. */
  token(): Promise<string> {
    const c = this.current;
    if (c && (c.expiresAt === null || c.expiresAt - this.margin > this.now())) return Promise.resolve(c.token);
    return this.refresh();
  }

  /**
   * The server refused `rejected`: drop it and get another (once per rejected token, however many
   * requests saw the 401). A token that was already replaced is not fetched again.
   */
  rejected(rejected: string): Promise<string> {
    if (this.current?.token === rejected) this.current = null;
    return this.token();
  }

  private refresh(): Promise<string> {
    this.inflight ??= (async () => {
      try {
        const got = await this.opts.fetchToken();
        const fetched = typeof got === 'string' ? { token: got } : got;
        if (!fetched?.token) throw new Error('fetchToken returned no token');
        this.current = { token: fetched.token, expiresAt: expiryOf(fetched) };
        return fetched.token;
      } finally {
        this.inflight = null;
      }
    })();
    return this.inflight;
  }
}
