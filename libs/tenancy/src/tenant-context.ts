import { AsyncLocalStorage } from 'node:async_hooks';
import { TenantId } from './tenant-id';

/** Thrown when tenant-owned data is touched with no tenant resolved: a programming error, never a 404. */
export class MissingTenantContextError extends Error {
  constructor(operation: string) {
    super(`Tenant-scoped operation "${operation}" ran without a tenant in context`);
    this.name = 'MissingTenantContextError';
  }
}

export interface RequestContextData {
  tenantId?: TenantId;
  requestId?: string;
  /** Who acts: an API key id, an end-user id, a platform admin id. For audit and logs. */
  actor?: { type: 'api_key' | 'user' | 'admin' | 'system'; id: string };
}

const storage = new AsyncLocalStorage<RequestContextData>();

/**
 * The request context. Set once per request or socket event by the auth layer; read by the
 * repositories. AsyncLocalStorage carries it across awaits without passing it through every call.
 */
export const TenantContext = {
  /** Runs fn inside a fresh context (HTTP middleware, socket event handlers, jobs). */
  run<T>(data: RequestContextData, fn: () => T): T {
    return storage.run({ ...data }, fn);
  },
  /** Runs fn as the given tenant, keeping the rest of the current context. */
  runAs<T>(tenantId: TenantId, fn: () => T): T {
    return storage.run({ ...(storage.getStore() ?? {}), tenantId }, fn);
  },
  /** Sets the tenant on the current context (called by guards after authentication). */
  enter(tenantId: TenantId, actor?: RequestContextData['actor']): void {
    const store = storage.getStore();
    if (!store) throw new Error('TenantContext.enter called outside TenantContext.run');
    if (store.tenantId && store.tenantId !== tenantId) {
      throw new Error('A request cannot change tenant once resolved');
    }
    store.tenantId = tenantId;
    if (actor) store.actor = actor;
  },
  /** Records who acts without naming a tenant (platform admins act across tenants). */
  setActor(actor: NonNullable<RequestContextData['actor']>): void {
    const store = storage.getStore();
    if (store) store.actor = actor;
  },
  current(): RequestContextData | undefined {
    return storage.getStore();
  },
  tenantId(): TenantId | undefined {
    return storage.getStore()?.tenantId;
  },
  requireTenantId(operation = 'unknown'): TenantId {
    const id = storage.getStore()?.tenantId;
    if (!id) throw new MissingTenantContextError(operation);
    return id;
  },
};

/**
 * A value one step of a request hands to a later step of the same request (the socket gate's claim
 * and reads to the send): kept by the request's context, taken once. Nothing outside a context.
 */
export class RequestSlot<T> {
  private readonly values = new WeakMap<RequestContextData, T>();

  put(value: T): void {
    const ctx = TenantContext.current();
    if (ctx) this.values.set(ctx, value);
  }

  take(): T | null {
    const ctx = TenantContext.current();
    const value = ctx ? this.values.get(ctx) : undefined;
    if (value === undefined) return null;
    this.values.delete(ctx!);
    return value;
  }
}
