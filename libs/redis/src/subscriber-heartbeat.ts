import type { Logger } from '@nestjs/common';
import type Redis from 'ioredis';

/** Resolves with the promise's value, or rejects when it takes longer than ms; never leaves a timer behind. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * Pings a pub/sub subscriber. A half-open TCP connection neither answers nor errors, so a subscriber
 * silently stops receiving; no PONG within the timeout counts as dead: the socket is destroyed (not
 * ended: a stalled socket may never finish a graceful close) and ioredis reconnects and resubscribes.
 */
export async function checkSubscriber(sub: Redis | undefined, timeoutMs: number, logger: Logger, label: string): Promise<boolean> {
  if (!sub) return true;
  try {
    await withTimeout(sub.ping(), timeoutMs, 'PING');
    return true;
  } catch (err) {
    logger.warn(`${label} heartbeat failed (${(err as Error).message}); reconnecting`);
    sub.stream?.destroy();
    sub.disconnect(true);
    return false;
  }
}
