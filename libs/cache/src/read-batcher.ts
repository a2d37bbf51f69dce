import type { RedisService } from '@chat/redis';

interface ReadBatch {
  keys: string[];
  waiters: Array<{ from: number; count: number; resolve: (values: Array<string | null>) => void; reject: (err: unknown) => void }>;
}

/**
 * MGET, shared by every read started in the same tick: a socket event's access check reads the user
 * and the user's ban side by side, which were two round trips. The values are the same as separate
 * MGETs would return (one MGET is atomic over all its keys); a failure fails every read of the batch,
 * and each degrades on its own as before.
 */
export class ReadBatcher {
  /** Reads asked for in this tick. */
  private batch: ReadBatch | null = null;

  constructor(private readonly redis: RedisService) {}

  read(client: NonNullable<RedisService['client']>, keys: string[]): Promise<Array<string | null>> {
    let batch = this.batch;
    if (!batch) {
      const b: ReadBatch = (batch = this.batch = { keys: [], waiters: [] });
      queueMicrotask(() => {
        this.batch = null;
        // In one write with whatever else is sent in this tick (a socket event's limit script).
        this.redis.writeTogether();
        client.mget(...b.keys).then(
          (values) => b.waiters.forEach((w) => w.resolve(values.slice(w.from, w.from + w.count))),
          (err: unknown) => b.waiters.forEach((w) => w.reject(err)),
        );
      });
    }
    const target = batch;
    return new Promise((resolve, reject) => {
      target.waiters.push({ from: target.keys.length, count: keys.length, resolve, reject });
      target.keys.push(...keys);
    });
  }
}
