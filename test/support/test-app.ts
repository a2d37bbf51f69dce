import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { configureApp } from '@chat/server';
import { AppModule } from '../../apps/all-in-one/src/app.module';
import { useSocketAdapter } from '../../apps/gateway/src/socket-adapter';
import { TEST_PLATFORM_ENV } from './factories';

export interface TestApp {
  app: INestApplication;
  /** Base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  dbName: string;
  close(): Promise<void>;
}

/**
 * Boots the all-in-one app exactly as `npm start` wires it (same pipeline, same adapter) on a free
 * loopback port, against the real services of the global setup, in a database of its own.
 */
export async function createTestApp(opts: { env?: Record<string, string>; dbName?: string } = {}): Promise<TestApp> {
  const dbName = opts.dbName ?? `t_${process.env.JEST_WORKER_ID ?? '0'}_${randomBytes(4).toString('hex')}`;
  const saved: Record<string, string | undefined> = {};
  // TEST_PLATFORM_ENV: the bootstrap admin adminLogin() uses and fixed secrets (tests may override).
  const env = { MONGODB_DB: dbName, PORT: '0', ...TEST_PLATFORM_ENV, ...opts.env };
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  try {
    const app = await NestFactory.create(AppModule, { bufferLogs: true, bodyParser: false, logger: ['error', 'warn'] });
    configureApp(app);
    useSocketAdapter(app);
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    return {
      app,
      url,
      dbName,
      close: async () => {
        await app.close();
      },
    };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/**
 * One app for the enclosing describe: created in beforeAll, closed in afterAll. The handle reads the
 * app once it is started, so tests and hooks use it like the app itself (not while the describe is
 * being defined: nothing is started then).
 */
export function testAppPerSuite(opts: { env?: Record<string, string>; dbName?: string } = {}): TestApp {
  let started: TestApp | undefined;
  beforeAll(async () => {
    started = await createTestApp(opts);
  });
  afterAll(async () => started?.close());
  const app = (): TestApp => {
    if (!started) throw new Error('the suite app is not started yet (it starts in beforeAll)');
    return started;
  };
  return {
    get app() {
      return app().app;
    },
    get url() {
      return app().url;
    },
    get dbName() {
      return app().dbName;
    },
    close: () => app().close(),
  };
}
