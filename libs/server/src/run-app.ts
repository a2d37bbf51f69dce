import { Logger as NestLogger, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigValidationError, loadConfig } from '@chat/config';
import { startEmbeddedServices } from '@chat/dev-services';
import { configureApp, ConfigureOptions } from './configure-app';

export interface RunOptions extends ConfigureOptions {
  name: string;
  /** Called after the app is created and configured, before listen (e.g. the socket.io adapter). */
  beforeListen?: (app: import('@nestjs/common').INestApplication) => Promise<void> | void;
}

/**
 * Starts one app. Outside production, a missing MONGODB_URI / S3_ENDPOINT brings up the embedded
 * FerretDB / S3 server with data under DATA_DIR. An invalid configuration stops the process with a
 * message naming the variable.
 */
export async function runApp(rootModule: Type<unknown>, opts: RunOptions): Promise<void> {
  try {
    loadConfig(); // fail fast, before starting anything
  } catch (err) {
    if (err instanceof ConfigValidationError) {
      console.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const embedded = process.env.NODE_ENV === 'production' ? null : await startEmbeddedServices(process.env, (l) => console.log(`[embedded] ${l}`));
  const app = await NestFactory.create(rootModule, { bufferLogs: true, bodyParser: false });
  configureApp(app, opts);
  await opts.beforeListen?.(app);
  const config = loadConfig();
  await app.listen(config.PORT, config.HOST);
  const url = await app.getUrl();
  const log = new NestLogger(opts.name);
  log.log(`${opts.name} listening on ${url.replace('[::1]', 'localhost')} (docs: ${url}/docs, readiness: ${url}/health/ready)`);
  // Our own signal handling (not enableShutdownHooks) so the embedded servers stop after the app has
  // drained; a second signal forces the exit.
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.log(`${signal} received: shutting down`);
    try {
      await app.close();
    } finally {
      await embedded?.stop();
      process.exit(0);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}
