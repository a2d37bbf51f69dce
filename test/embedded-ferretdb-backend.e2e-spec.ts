/* The embedded FerretDB's backend for a data directory: PostgreSQL when one answers (a database of the
 * directory's own), SQLite otherwise, and a directory keeps the backend its data is in across restarts. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { mongo } from 'mongoose';
import { dropFerretDbDataOf, ferretDbAvailable, findPostgres, RunningFerretDbWithBackend, startEmbeddedFerretDb } from '@chat/dev-services';

jest.setTimeout(120_000);

// FerretDB is built from source: on a machine with neither the binary nor Go (a mongod run) this is skipped.
(ferretDbAvailable() ? describe : describe.skip)('embedded FerretDB backend per data directory', () => {
  const quiet = () => undefined;
  const started: RunningFerretDbWithBackend[] = [];
  const dirs: string[] = [];
  const freshDir = () => {
    const d = join(process.env.CHAT_TEST_TMP!, `ferret-backend-${randomBytes(4).toString('hex')}`);
    dirs.push(d);
    return d;
  };
  const start = async (dataDir: string, env: NodeJS.ProcessEnv = process.env) => {
    const f = await startEmbeddedFerretDb({ dataDir, env, log: quiet, reuse: false });
    started.push(f);
    return f;
  };
  const withDb = async <T>(uri: string, fn: (c: mongo.Collection) => Promise<T>): Promise<T> => {
    const client = await mongo.MongoClient.connect(uri);
    try {
      return await fn(client.db('backend_test').collection('things'));
    } finally {
      await client.close();
    }
  };
  afterAll(async () => {
    await Promise.allSettled(started.map((f) => f.stop()));
    await Promise.allSettled(dirs.map((d) => dropFerretDbDataOf(d)));
  });

  it('takes PostgreSQL when one answers, in a database of the directory, and finds the data again after a restart', async () => {
    const pg = await findPostgres(process.env, quiet);
    const dir = freshDir();
    const first = await start(dir);
    expect(first.backend.kind).toBe(pg ? 'postgresql' : 'sqlite');
    await withDb(first.uri, (c) => c.insertOne({ _id: 'kept' } as never));
    await first.stop();

    const again = await start(dir);
    expect(again.backend).toEqual(first.backend);
    expect(await withDb(again.uri, (c) => c.findOne({ _id: 'kept' } as never))).toEqual({ _id: 'kept' });
  });

  it('a directory whose data is in SQLite stays on SQLite when PostgreSQL appears', async () => {
    const dir = freshDir();
    const sqlite = await start(dir, { ...process.env, FERRETDB_POSTGRESQL_URL: 'none' });
    expect(sqlite.backend).toEqual({ kind: 'sqlite' });
    await withDb(sqlite.uri, (c) => c.insertOne({ _id: 'in-sqlite' } as never));
    await sqlite.stop();

    const later = await start(dir);
    expect(later.backend).toEqual({ kind: 'sqlite' });
    expect(await withDb(later.uri, (c) => c.findOne({ _id: 'in-sqlite' } as never))).toEqual({ _id: 'in-sqlite' });
  });
});
