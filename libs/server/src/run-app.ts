import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { INestApplication, Logger as NestLogger, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigValidationError, loadConfig } from '@chat/config';
import { AppConfig } from '@chat/config';
import { EmbeddedServices, startEmbeddedServices } from '@chat/dev-services';
import { RedisService } from '@chat/redis';
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
  quietAwsSdkNodeWarning();
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
  if (config.NODE_ENV === 'production') log.log(`${opts.name} listening on ${url.replace('[::1]', 'localhost')} (docs: ${url}/docs, readiness: ${url}/health/ready)`);
  else process.stdout.write(startupSummary(app, opts, url.replace('[::1]', 'localhost'), embedded));
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

/**
 * The AWS SDK warns at the first S3 client that its releases after January 2027 need Node 22. The
 * installed (locked) SDK runs on every Node this project supports (package.json engines), so the
 * person starting the server cannot act on it; raising the Node floor is the project's move. The SDK's
 * documented switch turns it off unless it is set explicitly (=false shows it again).
 */
export function quietAwsSdkNodeWarning(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

/** What a developer needs after `npm start`: where it runs, the docs, the admin sign-in, which services it chose. */
function startupSummary(app: INestApplication, opts: RunOptions, url: string, embedded: EmbeddedServices | null): string {
  const name = opts.name;
  const config = app.get(AppConfig);
  const adminFile = resolve(join(config.DATA_DIR, 'initial-admin.txt'));
  const admin = config.ADMIN_BOOTSTRAP_EMAIL
    ? `${config.ADMIN_BOOTSTRAP_EMAIL} (password: ADMIN_BOOTSTRAP_PASSWORD)`
    : existsSync(adminFile)
      ? `email and password in ${adminFile}`
      : 'an admin exists already (created earlier)';
  let redis = 'not used by this app';
  try {
    const r = app.get(RedisService, { strict: false });
    redis = r.mode === 'redis' ? (r.url ? redactedUrl(r.url) : 'Redis') : 'in-process (single node; start Redis on 127.0.0.1:6379 for more)';
  } catch {
    // An app without the Redis module.
  }
  const lines = [
    '',
    `${name} ready on ${url}`,
    `  API docs     ${url}/docs  (OpenAPI JSON: ${url}/docs/openapi.json)`,
    ...(opts.web === false ? [] : [`  chat app     ${url}/app  (sign-in links: npm run cli -- seed)`, `  console      ${url}/console`]),
    `  admin login  POST ${url}/admin/auth/login, ${admin}`,
    `  MongoDB: ${embedded?.choices.mongodb ?? 'MONGODB_URI'}`,
    `  S3: ${embedded?.choices.s3 ?? 'S3_ENDPOINT'}`,
    `  Redis: ${redis}`,
    `  logs: LOG_LEVEL=${config.LOG_LEVEL}${config.LOG_PRETTY ? ', pretty' : ', JSON (LOG_PRETTY=true or npm run dev for readable logs)'}`,
    '',
  ];
  return lines.join('\n') + '\n';
}

function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'REDIS_URL';
  }
}
