import type { LoggerService } from '@nestjs/common';

/**
 * Nest's own start-up chatter: a line per module (InstanceLoader), per controller and route
 * (RoutesResolver, RouterExplorer: ~100 lines), per socket event, and "starting/started". Nothing in it
 * needs acting on, so it is logged at debug (LOG_LEVEL=debug shows it again); the apps print their own
 * short summary when they are ready.
 */
const STARTUP_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'WebSocketsController', 'NestFactory', 'NestApplication']);

function contextOf(params: unknown[]): unknown {
  return params[params.length - 1];
}

/** The app's logger with Nest's start-up chatter moved from `log` to `debug`. */
export function quietStartupLogger(inner: LoggerService): LoggerService {
  return {
    log: (message: unknown, ...params: unknown[]) => (STARTUP_CONTEXTS.has(contextOf(params) as string) ? inner.debug?.(message, ...params) : inner.log(message, ...params)),
    error: (message: unknown, ...params: unknown[]) => inner.error(message, ...params),
    warn: (message: unknown, ...params: unknown[]) => inner.warn(message, ...params),
    debug: (message: unknown, ...params: unknown[]) => inner.debug?.(message, ...params),
    verbose: (message: unknown, ...params: unknown[]) => inner.verbose?.(message, ...params),
    fatal: (message: unknown, ...params: unknown[]) => (inner.fatal ? inner.fatal(message, ...params) : inner.error(message, ...params)),
  };
}
