/* FerretDB v1.24.2 takes a second PostgreSQL connection for the write of an update or findAndModify
 * while the first still holds its query's rows (handler/msg_findandmodify.go), so once as many such
 * commands run at once as its pool has connections, each holds one and waits for ever for another.
 * The embedded FerretDB (libs/dev-services) therefore gets a PostgreSQL pool of its own size and the
 * app processes a driver pool well under it. This drives what two app processes may send at once (their
 * driver pools, full) at a FerretDB started as the embedded start does, and must not wedge it. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { mongo } from 'mongoose';
import { AppConfig } from '@chat/config';
import { ferretDbAvailable, RunningFerretDbWithBackend, startEmbeddedFerretDb, stopAndDropFerretDb } from '@chat/dev-services';

jest.setTimeout(120_000);

const PROCESSES = 2;
const ROUNDS = 5;
const TABLE_ROWS = 5_000;

/** Rejects if `p` has not settled by `ms`: a wedged FerretDB fails the test instead of hanging the run. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not answered within ${ms} ms (FerretDB wedged)`)), ms)));
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

(ferretDbAvailable() ? describe : describe.skip)('the embedded FerretDB under a full driver pool', () => {
  let ferret: RunningFerretDbWithBackend;
  const clients: mongo.MongoClient[] = [];

  beforeAll(async () => {
    const tag = randomBytes(3).toString('hex');
    ferret = await startEmbeddedFerretDb({
      dataDir: join(process.env.CHAT_TEST_TMP!, `ferretdb-pool-${tag}`),
      database: `chat_test_pool_${process.pid}_${tag}`,
      reuse: false,
      log: () => undefined,
    });
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close(true)));
    if (ferret) await stopAndDropFerretDb(ferret);
  });

  it('as many findOneAndUpdate at once as two app processes can send all complete', async () => {
    // The pool an app process opens: its configuration as the test run's environment sets it.
    const poolSize = Number(process.env.MONGODB_POOL_SIZE ?? new AppConfig().MONGODB_POOL_SIZE);
    for (let i = 0; i < PROCESSES; i++) clients.push(new mongo.MongoClient(ferret.uri, { maxPoolSize: poolSize }));
    const rows = (c: mongo.MongoClient) => c.db('pool').collection<{ _id: string; key: string; n: number }>('rows');
    // A table PostgreSQL takes a moment to scan, so that the commands' queries overlap.
    await rows(clients[0]!).insertMany(Array.from({ length: TABLE_ROWS }, (_, i) => ({ _id: `r${i}`, key: `k${i}`, n: 0 })));
    // Each process its own rows (FerretDB's updates are not atomic: two writers of one row lose one), twice its pool at once.
    const keysOf = (p: number) => Array.from({ length: poolSize * 2 }, (_, i) => `k${p * (TABLE_ROWS / PROCESSES) + i}`);
    for (let round = 0; round < ROUNDS; round++) {
      // By a field, not by bare _id (an index lookup): the query path that keeps its rows open during the write.
      const all = clients.flatMap((c, p) => keysOf(p).map((key) => rows(c).findOneAndUpdate({ key }, { $inc: { n: 1 } })));
      await within(Promise.all(all), 20_000, `round ${round}: ${all.length} findOneAndUpdate`);
    }
    const done = await rows(clients[0]!).countDocuments({ n: ROUNDS });
    expect(done).toBe(poolSize * 2 * PROCESSES);
  });
});
