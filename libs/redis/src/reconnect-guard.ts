import type Redis from 'ioredis';

/** Commands ioredis re-issues by itself after a reconnect (restoring subscriptions and the database). */
const RESTORED_ON_RECONNECT = ['subscribe', 'psubscribe', 'ssubscribe', 'select'] as const;

/**
 * Commands @socket.io/redis-adapter (8.x) calls without handling the promise: every broadcast,
 * room join/leave and server-side emit is a `publish` nobody awaits, and `close()` unsubscribes the
 * same way. While Redis is down they reject (MaxRetriesPerRequestError, "Connection is closed."), and
 * an unhandled rejection ends the process.
 */
export const FIRE_AND_FORGET_BY_ADAPTER = ['publish', 'unsubscribe', 'punsubscribe', 'sunsubscribe'] as const;

/**
 * Gives every promise the named methods return a handler (`onRejected`, a no-op by default), so a
 * caller that drops the promise cannot crash the process; callers that await still see the rejection.
 */
export function handleRejections(client: Redis, names: readonly string[], onRejected: (err: Error, command: string) => void = () => undefined): Redis {
  const target = client as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of names) {
    const original = target[name];
    if (typeof original !== 'function') continue;
    target[name] = function (this: unknown, ...args: unknown[]) {
      const result = original.apply(this, args);
      if (result instanceof Promise) result.catch((err: Error) => onRejected(err, name));
      return result;
    };
  }
  return client;
}

/**
 * ioredis (5.x, 6.0) restores a subscriber's channels after a reconnect with fire-and-forget calls;
 * if the connection drops again meanwhile (Redis restarting, a shutdown), their "Connection is closed."
 * rejection is unhandled, and on Node 15+ that ends the process (redis/ioredis#2187, merged after
 * 6.0.0). The connection's 'error' listener and the subscriber heartbeat already cover a connection
 * that stays broken.
 */
export function guardReconnectCommands(client: Redis): Redis {
  return handleRejections(client, RESTORED_ON_RECONNECT);
}

/**
 * Once the connection has been ready, commands sent while it is down are refused at once ("Stream
 * isn't writeable...", which the error mapping turns into the retryable service_unavailable) instead
 * of waiting in the offline queue until a reconnect or the maxRetriesPerRequest flush (up to several
 * seconds per command, and a send makes several): callers degrade or refuse now, and nothing piles up
 * to be replayed late. Before the first ready the queue stays on, so start-up commands wait for the
 * connection. Not for subscribers: ioredis restores their channels through its own commands.
 */
export function failFastOnceReady(client: Redis): Redis {
  client.once('ready', () => {
    client.options.enableOfflineQueue = false;
  });
  return client;
}
