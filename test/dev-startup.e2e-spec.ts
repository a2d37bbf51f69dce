/* What a developer sees when the all-in-one server starts in development (a real process): a short
 * summary (URL, docs, where the admin password is, which services it chose) instead of one log line per
 * route and module, and no warning they cannot act on. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { mongo } from 'mongoose';
import { findFreePort } from '@chat/dev-services';
import { spawnAllInOne, AppProcess } from './support/app-process';
import { waitFor } from './support/wait-for';

jest.setTimeout(120_000);

describe('development start-up output (real process)', () => {
  const dbName = `dev_startup_${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'dev-startup-'));
  let app: AppProcess | undefined;

  afterAll(async () => {
    if (app && app.child.exitCode === null) {
      app.child.kill('SIGTERM');
      await app.exited;
    }
    const client = await mongo.MongoClient.connect(process.env.MONGODB_URI!);
    await client.db(dbName).dropDatabase().catch(() => undefined);
    await client.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints a short summary instead of the route dump, and no AWS SDK Node-version warning', async () => {
    const port = await findFreePort();
    app = spawnAllInOne({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      MONGODB_DB: dbName,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      ADMIN_BOOTSTRAP_EMAIL: '',
      ADMIN_BOOTSTRAP_PASSWORD: '',
    });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(() => app!.stdout().includes(`${url}/docs`) || app!.child.exitCode !== null, { timeoutMs: 90_000, intervalMs: 100, what: 'the start-up summary' });
    const out = app.stdout();
    const all = out + app.stderr();
    expect(out).toContain(`ready on ${url}`);
    expect(out).toContain(`chat app     ${url}/app`);
    expect(out).toContain(`console      ${url}/console`);
    expect(out).toContain(join(dataDir, 'initial-admin.txt'));
    expect(out).toMatch(/MongoDB: .*MONGODB_URI/);
    expect(out).toMatch(/S3: .*S3_ENDPOINT/);
    expect(out).toMatch(/Redis: /);
    expect(all).not.toMatch(/RouterExplorer|RoutesResolver|Mapped \{/);
    expect(all).not.toMatch(/InstanceLoader/);
    expect(all).not.toMatch(/NodeVersionSupportWarning/);
    // Collections and indexes made at start are not slow queries (FerretDB takes 200+ ms for each).
    expect(all).not.toMatch(/"command":"(create|createIndexes)"/);
  });
});
