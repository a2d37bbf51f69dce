/**
 * Where the end-user token comes from. A sign-in link (`npm run cli -- seed` prints them, a SaaS backend
 * makes its own) carries it in the URL fragment, which browsers never send to the server: it is moved
 * to this tab's sessionStorage and removed from the address bar at once. The app cannot mint tokens;
 * when one expires, the user needs a new link.
 */
const KEY = 'chat.token';

export interface TokenClaims {
  sub: string;
  tid: string;
  exp: number;
}

export function claimsOf(token: string): TokenClaims | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const c = JSON.parse(json) as Partial<TokenClaims>;
    return typeof c.sub === 'string' && typeof c.tid === 'string' && typeof c.exp === 'number' ? (c as TokenClaims) : null;
  } catch {
    return null;
  }
}

/** The token of this tab: from the fragment (taken out of the URL), else the one kept earlier. */
export function takeToken(): string | null {
  const hash = new URLSearchParams(location.hash.slice(1));
  const fromLink = hash.get('token');
  if (fromLink) {
    sessionStorage.setItem(KEY, fromLink);
    history.replaceState(null, '', location.pathname + location.search);
    return fromLink;
  }
  return sessionStorage.getItem(KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
}

export function isExpired(c: TokenClaims, now = Date.now()): boolean {
  return c.exp * 1000 <= now;
}
