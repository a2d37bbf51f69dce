/**
 * The admin API as the console uses it: the same routes as curl, with the admin JWT from
 * POST /admin/auth/login (kept in this tab's sessionStorage only). Errors come back in the one error
 * shape and are thrown as ApiError with its code and message.
 */
const KEY = 'console.token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function adminToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setAdminToken(token: string | null): void {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}

type Query = Record<string, string | number | boolean | undefined | null>;

function url(path: string, q?: Query): string {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(q ?? {})) if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
  return u.pathname + u.search;
}

export async function request(method: string, path: string, body?: unknown, q?: Query): Promise<Response> {
  const headers: Record<string, string> = {};
  const token = adminToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url(path, q), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) {
    const err = (await res.json().catch(() => null)) as { error?: { code: string; message: string; details?: unknown } } | null;
    if (res.status === 401 && path !== '/admin/auth/login') {
      setAdminToken(null);
      dispatchEvent(new Event('console:signed-out'));
    }
    throw new ApiError(res.status, err?.error?.code ?? 'http_error', err?.error?.message ?? `HTTP ${res.status}`, err?.error?.details);
  }
  return res;
}

export async function api<T>(method: string, path: string, body?: unknown, q?: Query): Promise<T> {
  const res = await request(method, path, body, q);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export const get = <T>(path: string, q?: Query) => api<T>('GET', path, undefined, q);
export const post = <T>(path: string, body: unknown = {}) => api<T>('POST', path, body);

/** Saves a response body as a file (tenant exports, invoice CSV). */
export async function download(method: string, path: string, fallbackName: string, q?: Query): Promise<void> {
  const res = await request(method, path, method === 'POST' ? {} : undefined, q);
  const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') ?? '')?.[1] ?? fallbackName;
  const href = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

export type { Page } from '@chat/contracts';
export type { ApiKeyView as ApiKey, ApplicationView as Application, TenantView as Tenant } from '@chat/contracts';
export { PLANS, QUOTA_FIELDS as QUOTAS } from '@chat/contracts';

/** Runs an action, showing its error: a tiny helper for buttons. */
export function describe(err: unknown): string {
  return err instanceof ApiError ? `${err.code}: ${err.message}` : (err as Error).message;
}
