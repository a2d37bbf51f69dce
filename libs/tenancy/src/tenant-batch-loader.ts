import { TenantContext } from './tenant-context';
import { TenantId } from './tenant-id';

interface Waiter<V> {
  resolve: (v: V | undefined) => void;
  reject: (e: unknown) => void;
}

interface TenantQueue<V> {
  keys: Map<string, Array<Waiter<V>>>;
  running: boolean;
}

/**
 * Coalesces lookups by key into one query per tenant: keys asked for in the same tick, or while the
 * tenant's previous query runs, go out together (up to `maxBatch` a query). Why: a burst of first
 * connects asks for thousands of different users at once, and on FerretDB each single lookup is a
 * scan of the collection; one `$in` query per batch scans once. On MongoDB it saves round trips.
 * `load` runs inside TenantContext of the batch's tenant and returns what it found by key; a key it
 * does not return resolves to undefined.
 */
export class TenantBatchLoader<V> {
  private readonly queues = new Map<TenantId, TenantQueue<V>>();

  constructor(
    private readonly load: (keys: string[]) => Promise<Map<string, V>>,
    private readonly maxBatch = 500,
  ) {}

  /** The value for `key` in the current tenant (TenantContext), or undefined when there is none. */
  get(key: string): Promise<V | undefined> {
    const tenantId = TenantContext.requireTenantId('batch-loader');
    let q = this.queues.get(tenantId);
    if (!q) {
      q = { keys: new Map(), running: false };
      this.queues.set(tenantId, q);
    }
    const queue = q;
    return new Promise<V | undefined>((resolve, reject) => {
      const waiters = queue.keys.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else queue.keys.set(key, [{ resolve, reject }]);
      if (!queue.running) {
        queue.running = true;
        setImmediate(() => void this.drain(tenantId, queue));
      }
    });
  }

  private async drain(tenantId: TenantId, q: TenantQueue<V>): Promise<void> {
    while (q.keys.size) {
      const batch = [...q.keys].slice(0, this.maxBatch);
      for (const [k] of batch) q.keys.delete(k);
      try {
        const found = await TenantContext.run({ tenantId }, () => this.load(batch.map(([k]) => k)));
        for (const [k, waiters] of batch) for (const w of waiters) w.resolve(found.get(k));
      } catch (err) {
        for (const [, waiters] of batch) for (const w of waiters) w.reject(err);
      }
    }
    q.running = false;
    if (this.queues.get(tenantId) === q && !q.keys.size) this.queues.delete(tenantId);
  }
}
