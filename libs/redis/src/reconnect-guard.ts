import type Redis from 'ioredis';

/** Commands ioredis re-issues by itself after a reconnect (restoring subscriptions and the database). */
const RESTORED_ON_RECONNECT = ['subscribe', 'psubscribe', 'ssubscribe', 'select'] as const;

/**
 * ioredis (5.x, 6.0) restores a subscriber's channels after a reconnect with fire-and-forget calls;
 * if the connection drops again meanwhile (Redis restarting, a shutdown), their "Connection is closed."
 * rejection is unhandled, and on Node 15+ that ends the process (redis/ioredis#2187, merged after
 * 6.0.0). Every promise these methods return gets a no-op handler: callers that await still see the
 * rejection, the library's own calls no longer crash us. The connection's 'error' listener and the
 * subscriber heartbeat already cover a connection that stays broken.
 */
export function guardReconnectCommands(client: Redis): Redis {
  const target = client as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of RESTORED_ON_RECONNECT) {
    const original = target[name];
    if (typeof original !== 'function') continue;
    target[name] = function (this: unknown, ...args: unknown[]) {
      const result = original.apply(this, args);
      if (result instanceof Promise) result.catch(() => undefined);
      return result;
    };
  }
  return client;
}
