/**
 * What ioredis rejects a command with when Redis cannot be reached (as opposed to a command Redis
 * refused): the request did nothing wrong, and the same request can succeed once the connection is
 * back. Recognised by name and message because these are plain Errors (redis-errors' AbortError).
 */
const NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError']);
const MESSAGES = new Set(['Connection is closed.', "Stream isn't writeable and enableOfflineQueue options is false", 'Command aborted due to connection close']);

export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return NAMES.has(err.name) || MESSAGES.has(err.message);
}
