/* The management CLI as operators run it: real processes (`node apps/cli/bin/chat-cli.js`, what
 * `npm run cli` runs) against the test FerretDB. The round trip: seed, back up, erase, restore, and
 * every document is back byte for byte; the same for one tenant while the other is untouched. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { mongo } from 'mongoose';
import { TEST_PLATFORM_ENV } from './support/factories';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3Server } from '@chat/dev-services';
import { base64ToBytes, bytesToUtf8, decryptMessage } from '../libs/sdk/src/crypto';

const run = promisify(execFile);
const CLI = join(__dirname, '..', 'apps', 'cli', 'bin', 'chat-cli.js');

jest.setTimeout(180_000);

describe('management CLI (real processes, FerretDB)', () => {
  const dbName = `ops_cli_${randomBytes(4).toString('hex')}`;
  const drillDb = `${dbName}_drill`;
  const dir = mkdtempSync(join(tmpdir(), 'ops-cli-'));
  let client: mongo.MongoClient;
  let db: mongo.Db;

  async function cli(args: string[], opts: { expectFail?: boolean; env?: Record<string, string> } = {}): Promise<{ stdout: string; stderr: string; json: any }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, '--json', ...args], {
        env: { ...process.env, ...TEST_PLATFORM_ENV, MONGODB_DB: dbName, LOG_LEVEL: 'warn', DATA_DIR: join(dir, 'data'), ...opts.env },
        maxBuffer: 32 * 1024 * 1024,
        timeout: 120_000,
      });
      if (opts.expectFail) throw new Error(`expected failure of ${args.join(' ')}`);
      return { stdout, stderr, json: stdout.trim() ? JSON.parse(stdout) : null };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      if (opts.expectFail && typeof e.code === 'number') return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', json: null };
      throw new Error(`cli ${args.join(' ')} failed: ${e.stderr ?? err}`);
    }
  }

  /** One run with its exit code and both streams, whatever the outcome. `unset` removes variables of this run's environment. */
  async function cliRaw(args: string[], opts: { env?: Record<string, string>; unset?: string[] } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const env: NodeJS.ProcessEnv = { ...process.env, ...TEST_PLATFORM_ENV, MONGODB_DB: dbName, LOG_LEVEL: 'warn', DATA_DIR: join(dir, 'data'), ...opts.env };
    for (const k of opts.unset ?? []) delete env[k];
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env, maxBuffer: 32 * 1024 * 1024, timeout: 120_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      if (typeof e.code !== 'number') throw err;
      return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  /** With --json a failure is the one error shape, as the last line of stderr. */
  function jsonError(stderr: string): { error: { code: string; message: string; details?: unknown } } {
    const lines = stderr.trim().split('\n');
    return JSON.parse(lines[lines.length - 1]);
  }

  /** Every document of every collection, as raw BSON in _id order: equality here is byte equality. */
  async function snapshot(of: mongo.Db = db): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const { name } of await of.listCollections({}, { nameOnly: true }).toArray()) {
      const docs = await of.collection(name).find({}, { raw: true, sort: { _id: 1 } }).toArray();
      if (docs.length) out[name] = docs.map((d) => Buffer.from(d as unknown as Uint8Array).toString('base64'));
    }
    return out;
  }

  beforeAll(async () => {
    client = await mongo.MongoClient.connect(process.env.MONGODB_URI!);
    db = client.db(dbName);
  });
  afterAll(async () => {
    await db?.dropDatabase().catch(() => undefined);
    await client?.db(drillDb).dropDatabase().catch(() => undefined);
    await client?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let tenantA: string;
  let tenantB: string;

  it('setup creates every collection and index, and a second run changes nothing', async () => {
    const first = await cli(['setup']);
    const names = first.json.databases[0].collections.map((c: { name: string }) => c.name);
    for (const c of ['clients', 'applications', 'api_keys', 'users', 'conversations', 'messages']) expect(names).toContain(c);
    const messages = first.json.databases[0].collections.find((c: { name: string }) => c.name === 'messages');
    expect(messages.indexes).toContain('tenant_id_1_conversation_id_1_seq_1');
    const second = await cli(['setup']);
    expect(second.json).toEqual(first.json);
  });

  it('migrate up / status / down are recorded in the migrations collection', async () => {
    const up = await cli(['migrate', 'up']);
    expect(up.json.applied.length).toBeGreaterThan(0);
    expect((await cli(['migrate', 'up'])).json.applied).toEqual([]);
    const status = (await cli(['migrate', 'status'])).json as Array<{ version: number; applied: boolean }>;
    expect(status.every((s) => s.applied)).toBe(true);
    const last = status[status.length - 1].version;
    expect((await cli(['migrate', 'down'])).json.reverted).toEqual([last]);
    expect(await db.collection('migrations').findOne({ _id: last as never })).toBeNull();
    expect((await cli(['migrate', 'up'])).json.applied).toEqual([last]);
    expect(await db.collection('migrations').countDocuments({ _id: { $ne: 'lock' as never } })).toBe(status.length);
  });

  it('seeds two demo tenants with well-formed ciphertext envelopes', async () => {
    const a = await cli(['seed', '--name', 'Tenant A', '--users', '3', '--conversations', '2', '--messages', '4']);
    const b = await cli(['seed', '--name', 'Tenant B', '--users', '2', '--conversations', '1', '--messages', '3', '--region', 'us']);
    tenantA = a.json.tenant_id;
    tenantB = b.json.tenant_id;
    expect(a.json.messages).toBe(8);
    const msg = await db.collection('messages').findOne({ tenant_id: tenantA });
    expect(msg!.content).toMatchObject({ type: 'text', algorithm: expect.any(String), encrypted_data: expect.any(String), ephemeral_public_key: expect.any(String) });
    expect(msg!.content.encrypted_key.length).toBeGreaterThanOrEqual(2);
    const tenants = (await cli(['tenants'])).json as Array<{ tenant_id: string; region: string }>;
    expect(tenants.map((t) => t.tenant_id)).toEqual(expect.arrayContaining([tenantA, tenantB]));
  });

  it('stats reports the database, collections and per-tenant counts', async () => {
    const s = (await cli(['stats'])).json;
    expect(s.database.documents).toBeGreaterThan(0);
    expect(s.collections.find((c: { name: string }) => c.name === 'messages').documents).toBe(11);
    const a = s.tenants.find((t: { tenant_id: string }) => t.tenant_id === tenantA);
    expect(a.by_collection).toMatchObject({ messages: 8, users: 3, conversations: 2 });
    const only = (await cli(['stats', '--tenant', tenantB])).json;
    expect(only.tenants).toHaveLength(1);
    expect(only.tenants[0].by_collection.messages).toBe(3);
  });

  it('full round trip: backup, erase the database, restore: every document identical', async () => {
    const before = await snapshot();
    const archive = join(dir, 'full.tar.gz');
    const m = (await cli(['backup', archive])).json;
    expect(m.scope).toBe('full');
    await db.dropDatabase();
    expect(await snapshot()).toEqual({});
    const r = (await cli(['restore', archive])).json;
    expect(r.collections.reduce((s: number, c: { inserted: number }) => s + c.inserted, 0)).toBe(Object.values(before).flat().length);
    expect(await snapshot()).toEqual(before);
    // Indexes come back too (from the mongodump metadata files).
    const ix = (await db.collection('messages').listIndexes().toArray()).map((i) => i.name);
    expect(ix).toContain('tenant_id_1_conversation_id_1_sender_id_1_client_msg_id_1');
  });

  it('tenant round trip: backup one tenant, erase it, restore it; the other tenant is never touched', async () => {
    const before = await snapshot();
    const bOnly = (s: Record<string, string[]>) => JSON.stringify(s.messages.filter((d) => mongo.BSON.deserialize(Buffer.from(d, 'base64')).tenant_id === tenantB));
    const archive = join(dir, 'tenant-a');
    const m = (await cli(['backup', archive, '--tenant', tenantA])).json;
    expect(m.scope).toBe('tenant');
    expect(m.databases[0].collections.find((c: { name: string }) => c.name === 'messages').count).toBe(8);
    await cli(['tenant', 'erase', tenantA], { expectFail: true }); // needs --yes
    const erased = (await cli(['tenant', 'erase', tenantA, '--yes'])).json;
    expect(erased.collections.find((c: { name: string }) => c.name === 'messages').deleted).toBe(8);
    for (const name of ['users', 'conversations', 'messages', 'applications', 'api_keys']) expect(await db.collection(name).countDocuments({ tenant_id: tenantA })).toBe(0);
    expect(await db.collection('clients').countDocuments({ _id: new mongo.ObjectId(tenantA) })).toBe(0);
    const mid = await snapshot();
    expect(bOnly(mid)).toEqual(bOnly(before));
    expect(await db.collection('clients').countDocuments({ _id: new mongo.ObjectId(tenantB) })).toBe(1);
    await cli(['restore', archive]);
    expect(await snapshot()).toEqual(before);
  });

  it('tenant export writes a tar.gz that restores like a backup', async () => {
    const before = await snapshot();
    const archive = join(dir, 'export-b.tgz');
    const m = (await cli(['tenant', 'export', tenantB, archive])).json;
    expect(m).toMatchObject({ scope: 'tenant', tenant_id: tenantB });
    await cli(['tenant', 'erase', tenantB, '--yes']);
    expect(await db.collection('messages').countDocuments({ tenant_id: tenantB })).toBe(0);
    await cli(['restore', archive]);
    expect(await snapshot()).toEqual(before);
  });

  it('restore --drop replaces every archived collection; without it, a restore over live data fails', async () => {
    const before = await snapshot();
    const archive = join(dir, 'drop.tar.gz');
    await cli(['backup', archive]);
    // Live data moves on after the backup: a document added, one removed, one changed.
    await db.collection('users').insertOne({ tenant_id: tenantA, external_id: 'after-backup' });
    const gone = await db.collection('messages').findOne({ tenant_id: tenantB });
    await db.collection('messages').deleteOne({ _id: gone!._id });
    await db.collection('conversations').updateOne({ tenant_id: tenantA }, { $set: { name: 'changed after backup' } });
    const refused = await cli(['restore', archive], { expectFail: true });
    expect(jsonError(refused.stderr).error).toMatchObject({ code: 'conflict', message: expect.stringMatching(/--drop/) });
    expect(refused.stderr).not.toMatch(/E11000/);
    const r = (await cli(['restore', archive, '--drop'])).json;
    expect(r.scope).toBe('full');
    expect(r.collections.find((c: { name: string }) => c.name === 'messages').removed).toBeGreaterThan(0);
    expect(await snapshot()).toEqual(before);
  });

  it('restore --target-db restores beside the live database: the runbook drill', async () => {
    const before = await snapshot();
    const archive = join(dir, 'drill.tar.gz');
    await cli(['backup', archive]);
    const r = (await cli(['restore', archive, '--target-db', drillDb])).json;
    expect(new Set(r.collections.map((c: { db: string }) => c.db))).toEqual(new Set([drillDb]));
    expect(await snapshot(client.db(drillDb))).toEqual(before);
    expect(await snapshot()).toEqual(before); // the live database is not touched
    // Step 3 of the drill: stats of the copy against stats of the live database.
    const live = (await cli(['stats'])).json;
    const copy = (await cli(['stats'], { env: { MONGODB_DB: drillDb } })).json;
    expect(copy.database.name).toBe(drillDb);
    expect(copy.database.documents).toBe(live.database.documents);
    const counts = (s: { collections: Array<{ name: string; documents: number }> }) => Object.fromEntries(s.collections.map((c) => [c.name, c.documents]));
    expect(counts(copy)).toEqual(counts(live));
  });

  it('retention set / status / hold / run: expired messages go, held ones stay, the other tenant is untouched', async () => {
    const old = new Date(Date.now() - 40 * 86_400_000);
    await db.collection('messages').updateMany({ tenant_id: tenantA }, { $set: { created_at: old } });
    const convs = (await db.collection('messages').find({ tenant_id: tenantA }).toArray()).map((m) => String(m.conversation_id));
    const [held, other] = [...new Set(convs)];
    const bMessages = await db.collection('messages').countDocuments({ tenant_id: tenantB });

    expect((await cli(['retention', 'set', tenantA, '--days', '30', '--grace-days', '2'])).json).toMatchObject({ tenant_id: tenantA, retention_days: 30, soft_delete_grace_days: 2 });
    expect((await cli(['retention', 'status', tenantA])).json).toMatchObject({ tenant_id: tenantA, retention_days: 30, soft_delete_grace_days: 2, legal_hold: false, held_conversations: [] });
    const bad = await cli(['retention', 'set', tenantA, '--days', '-1'], { expectFail: true });
    expect(jsonError(bad.stderr).error.code).toBe('validation_failed');

    // A legal hold on the tenant suspends deletion.
    expect((await cli(['retention', 'hold', tenantA])).json).toMatchObject({ legal_hold: true });
    const onHold = (await cli(['retention', 'run', '--tenant', tenantA])).json;
    expect(onHold).toMatchObject({ expired_deleted: 0, soft_deleted_purged: 0 });
    expect(onHold.tenants).toEqual([expect.objectContaining({ tenant_id: tenantA, legal_hold: true })]);
    expect(await db.collection('messages').countDocuments({ tenant_id: tenantA })).toBe(8);

    // Released, with one conversation held: only the other conversation's messages go.
    expect((await cli(['retention', 'hold', tenantA, '--release'])).json).toMatchObject({ legal_hold: false });
    expect((await cli(['retention', 'hold', tenantA, '--conversation', held])).json).toMatchObject({ legal_hold: false, held_conversations: [held] });
    const ran = (await cli(['retention', 'run', '--tenant', tenantA])).json;
    expect(ran.expired_deleted).toBe(4);
    expect(ran.tenants).toEqual([expect.objectContaining({ tenant_id: tenantA, expired_deleted: 4, held_conversations: 1 })]);
    expect(await db.collection('messages').countDocuments({ tenant_id: tenantA, conversation_id: held })).toBe(4);
    expect(await db.collection('messages').countDocuments({ tenant_id: tenantA, conversation_id: other })).toBe(0);
    expect(await db.collection('messages').countDocuments({ tenant_id: tenantB })).toBe(bMessages);
    expect(await db.collection('retention_reports').countDocuments({ _id: { $ne: 'lock' as never } })).toBeGreaterThanOrEqual(2);

    expect((await cli(['retention', 'hold', tenantA, '--conversation', held, '--release'])).json.held_conversations).toEqual([]);
    expect((await cli(['retention', 'set', tenantA, '--keep-forever'])).json).toMatchObject({ retention_days: null, soft_delete_grace_days: 2 });
    expect((await cli(['retention', 'run', '--tenant', tenantA])).json.expired_deleted).toBe(0);
  });

  it('usage rollup is incremental; invoices <period> issues a closed month once', async () => {
    const now = new Date();
    const at = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 10, 12));
    const period = at.toISOString().slice(0, 7);
    const day = at.toISOString().slice(0, 10);
    // Usage of last month as the recorder writes it (one document per tenant, type and day per flush).
    await db.collection('events').insertMany([
      { tenant_id: tenantA, type: 'messages_sent', count: 7, day, period, at },
      { tenant_id: tenantA, type: 'active_users', count: 2, user_ids: ['u1', 'u2'], day, period, at },
      { tenant_id: tenantA, type: 'api_calls', count: 3, day, period, at },
    ]);
    // No lag: the roll-up otherwise leaves sources younger than USAGE_ROLLUP_LAG_SECONDS for its next run.
    const env = { USAGE_ROLLUP_LAG_SECONDS: '0' };
    const first = (await cli(['usage', 'rollup'], { env })).json;
    expect(first.events).toBeGreaterThanOrEqual(3);
    expect((await cli(['usage', 'rollup'], { env })).json).toMatchObject({ events: 0 });
    expect(await db.collection('aggregations').findOne({ _id: `usage|${tenantA}|${period}` as never })).toMatchObject({ messages_sent: 7, active_users: 2, api_calls: 3 });

    const id = `inv_${period}_${tenantA}`;
    const issued = (await cli(['invoices', period])).json;
    expect(issued).toMatchObject({ period });
    expect(issued.created).toContain(id);
    const inv = await db.collection('billing').findOne({ _id: id as never });
    expect(inv).toMatchObject({ kind: 'invoice', tenant_id: tenantA, period, status: 'issued', usage: { messages_sent: 7, active_users: 2, api_calls: 3 } });
    const again = (await cli(['invoices', period])).json;
    expect(again.created).toEqual([]);
    expect(again.existing).toContain(id);
    expect((await cli(['invoices', period, '--tenant', tenantA])).json).toEqual({ period, created: [], existing: [id] });
    expect(await db.collection('billing').findOne({ _id: id as never })).toEqual(inv);
    const open = await cli(['invoices', now.toISOString().slice(0, 7)], { expectFail: true });
    expect(jsonError(open.stderr).error.code).toBe('conflict');
  });

  it('shard --dry-run prints the commands with the documented keys and zones; a real run refuses on FerretDB', async () => {
    const plan = (await cli(['shard', '--dry-run', '--zone', 'eu=shard-eu-1', '--zone', 'us=shard-us-1'])).json;
    expect(plan.commands[0]).toBe(`sh.enableSharding("${dbName}")`);
    expect(plan.commands).toContain(`sh.shardCollection("${dbName}.messages", {"tenant_id":1,"conversation_id":1})`);
    expect(plan.commands).toContain('sh.addShardToZone("shard-eu-1", "eu")');
    expect(plan.commands.some((c: string) => c.startsWith(`sh.updateZoneKeyRange("${dbName}.messages", { "tenant_id": "${tenantA}", "conversation_id": MinKey }`) && c.endsWith('"eu")'))).toBe(true);
    expect(plan.commands.some((c: string) => c.includes(`"tenant_id": "${tenantB}"`) && c.endsWith('"us")'))).toBe(true);
    const real = await cli(['shard'], { expectFail: true });
    expect(jsonError(real.stderr).error.message).toMatch(/mongos/);
  });

  it('rejects bad input with a message and exit code 1', async () => {
    const r = await cli(['restore', join(dir, 'no-such-archive.tar.gz')], { expectFail: true });
    expect(jsonError(r.stderr).error.message).toMatch(/no-such-archive/);
    const human = await cliRaw(['restore', join(dir, 'no-such-archive.tar.gz')]);
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/^error: /m);
  });

  describe('failures and the default setup (issue 15)', () => {
    it('with --json every failure is the one error shape on stderr, stdout stays empty, exit code 1', async () => {
      const status = await cliRaw(['--json', 'tenants', '--status', 'bogus']);
      expect(status.code).toBe(1);
      expect(status.stdout).toBe('');
      expect(jsonError(status.stderr)).toEqual({ error: { code: 'validation_failed', message: expect.stringMatching(/active \| suspended \| deleted/), details: expect.anything() } });
      const usage = await cliRaw(['--json', 'tenants', '--no-such-option']);
      expect(usage.code).toBe(1);
      expect(jsonError(usage.stderr).error).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/no-such-option/) });
      const human = await cliRaw(['tenants', '--status', 'bogus']);
      expect(human.code).toBe(1);
      expect(human.stderr).toMatch(/^error: .*active \| suspended \| deleted/m);
    });

    it('tenant export of a tenant that does not exist fails with not_found and writes nothing', async () => {
      const target = join(dir, 'nobody.tgz');
      const r = await cliRaw(['--json', 'tenant', 'export', new mongo.ObjectId().toHexString(), target]);
      expect(r.code).toBe(1);
      expect(jsonError(r.stderr).error.code).toBe('not_found');
      expect(() => statSync(target)).toThrow();
      const backup = await cliRaw(['--json', 'backup', join(dir, 'nobody-backup'), '--tenant', 'not-an-id']);
      expect(backup.code).toBe(1);
      expect(jsonError(backup.stderr).error.code).toBe('not_found');
    });

    it('every failure path exits non-zero with the error shape: unknown tenant on erase, usage errors, bad values', async () => {
      const unknown = new mongo.ObjectId().toHexString();
      const cases: Array<{ args: string[]; code: string }> = [
        { args: ['tenant', 'erase', unknown, '--yes'], code: 'not_found' },
        { args: ['tenant', 'erase', 'not-an-id', '--yes'], code: 'not_found' },
        { args: ['tenant', 'export', unknown, join(dir, 'x.tgz')], code: 'not_found' },
        { args: ['tenants', '--status', 'bogus'], code: 'validation_failed' },
        { args: ['no-such-command'], code: 'bad_request' },
        { args: ['tenant', 'erase'], code: 'bad_request' },
        { args: ['restore'], code: 'bad_request' },
        { args: ['seed', '--no-such-option'], code: 'bad_request' },
      ];
      for (const c of cases) {
        const r = await cliRaw(['--json', ...c.args]);
        expect([c.args.join(' '), r.code !== 0, r.stdout]).toEqual([c.args.join(' '), true, '']);
        expect([c.args.join(' '), jsonError(r.stderr).error.code]).toEqual([c.args.join(' '), c.code]);
      }
      // Without --json too: a non-zero exit and an `error:` line.
      const human = await cliRaw(['tenant', 'erase', unknown, '--yes']);
      expect(human.code).not.toBe(0);
      expect(human.stderr).toMatch(/^error: .*Tenant/m);
    }, 300_000);

    it('tenant export in the default setup (no S3_ENDPOINT) reads the file objects of the embedded store under DATA_DIR', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'ops-cli-data-'));
      const tenantId = new mongo.ObjectId();
      await db.collection('clients').insertOne({ _id: tenantId, name: 'Files tenant', plan: 'pro', status: 'active', region: 'eu', created_at: new Date() });
      const key = `${tenantId.toHexString()}/file-1`;
      // What `npm start` left in DATA_DIR/s3: an object written through its embedded store (stopped since).
      const s3 = await startS3Server({ dir: join(dataDir, 's3'), bucket: 'chat-files', log: () => undefined });
      const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
      await client.send(new PutObjectCommand({ Bucket: 'chat-files', Key: key, Body: Buffer.from('ciphertext bytes') }));
      client.destroy();
      await s3.stop();
      await db.collection('files').insertOne({ tenant_id: tenantId.toHexString(), storage: { bucket: 'chat-files', key }, size: 16 });
      try {
        const target = join(dir, 'files-export');
        const r = await cliRaw(['--json', 'tenant', 'export', tenantId.toHexString(), target], {
          env: { DATA_DIR: dataDir },
          unset: ['S3_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_BUCKET'],
        });
        expect(r).toMatchObject({ code: 0 });
        expect(JSON.parse(r.stdout).objects).toEqual({ count: 1, bytes: 16, missing: 0 });
        expect(readFileSync(join(target, 'objects', 'chat-files', key), 'utf8')).toBe('ciphertext bytes');
        expect(r.stderr).not.toMatch(/NodeVersionSupportWarning/); // not actionable (docs/operations.md)
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('restore honours MONGODB_DB, and a restore over existing documents is a clear conflict, not a raw E11000', async () => {
      const source = `${dbName}_src`;
      const other = `${dbName}_other`;
      try {
        await client.db(source).collection('clients').insertOne({ _id: new mongo.ObjectId(), name: 'Moved', status: 'active' });
        const archive = join(dir, 'moved.tgz');
        expect((await cliRaw(['--json', 'backup', archive], { env: { MONGODB_DB: source } })).code).toBe(0);
        const r = await cliRaw(['--json', 'restore', archive], { env: { MONGODB_DB: other } });
        expect(r.code).toBe(0);
        expect(new Set(JSON.parse(r.stdout).collections.map((c: { db: string }) => c.db))).toEqual(new Set([other]));
        expect(await client.db(other).collection('clients').countDocuments({ name: 'Moved' })).toBe(1);
        const again = await cliRaw(['--json', 'restore', archive], { env: { MONGODB_DB: other } });
        expect(again.code).toBe(1);
        expect(again.stderr).not.toMatch(/E11000/);
        expect(jsonError(again.stderr).error).toMatchObject({ code: 'conflict', message: expect.stringMatching(/--drop/) });
      } finally {
        await client.db(source).dropDatabase().catch(() => undefined);
        await client.db(other).dropDatabase().catch(() => undefined);
      }
    });

    it('seed is idempotent and keeps the demo device keys (0600) so a client can read the seeded messages', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'ops-cli-seed-'));
      const env = { DATA_DIR: dataDir };
      try {
        const args = ['--json', 'seed', '--name', 'Idempotent demo', '--users', '2', '--conversations', '1', '--messages', '2'];
        const first = await cliRaw(args, { env });
        expect(first.code).toBe(0);
        const seeded = JSON.parse(first.stdout);
        expect(seeded).toMatchObject({ created: true, devices_file: join(dataDir, 'demo-devices.json') });
        // A chat-app sign-in link per demo user: a short-lived token of the demo application in the fragment.
        expect(seeded.sign_in_links.map((l: { user_id: string }) => l.user_id)).toEqual(seeded.users);
        for (const link of seeded.sign_in_links as Array<{ user_id: string; url: string; expires_at: string }>) {
          const m = /^http:\/\/[^/]+\/app#token=(.+)$/.exec(link.url);
          expect(m).not.toBeNull();
          const claims = new JwtService().verify(decodeURIComponent(m![1]!), { secret: seeded.app_secret, algorithms: ['HS256'] });
          expect(claims).toMatchObject({ sub: link.user_id, tid: seeded.tenant_id, aid: seeded.application_id });
          expect(claims.exp - claims.iat).toBeLessThanOrEqual(3600);
        }
        const second = await cliRaw(args, { env });
        expect(second.code).toBe(0);
        expect(JSON.parse(second.stdout)).toMatchObject({ created: false, tenant_id: seeded.tenant_id, api_key: seeded.api_key });
        expect(await db.collection('clients').countDocuments({ name: 'Idempotent demo' })).toBe(1);
        expect(await db.collection('messages').countDocuments({ tenant_id: seeded.tenant_id })).toBe(2);
        // The demo devices are in the key directory, so a browser signed in as a demo user can encrypt for the others.
        expect(await db.collection('device_keys').countDocuments({ tenant_id: seeded.tenant_id })).toBe(2);

        const file = join(dataDir, 'demo-devices.json');
        expect(statSync(file).mode & 0o777).toBe(0o600);
        const demo = JSON.parse(readFileSync(file, 'utf8')).tenants[seeded.tenant_id];
        expect(demo).toMatchObject({ tenant_id: seeded.tenant_id, api_key: seeded.api_key });
        const msg = await db.collection('messages').findOne({ tenant_id: seeded.tenant_id });
        const me = demo.users.find((u: { user_id: string }) => u.user_id !== msg!.sender_id) ?? demo.users[0];
        const plain = decryptMessage({
          content: msg!.content,
          conversationId: String(msg!.conversation_id),
          senderId: msg!.sender_id,
          myUserId: me.user_id,
          myDevice: {
            device_id: me.device_id,
            key_version: me.key_version,
            agreement: { publicKey: base64ToBytes(me.agreement.public_key), secretKey: base64ToBytes(me.agreement.secret_key) },
          },
        });
        expect(bytesToUtf8(plain)).toMatch(/^Hello from demo-user-/);
        const human = await cliRaw(['seed', '--name', 'Idempotent demo'], { env });
        expect(human.stdout).toMatch(/demo-devices\.json/);
        expect(human.stdout).toMatch(/\/v1\/users\/demo-user-1\/tokens/);
        expect(human.stdout).toMatch(/demo-user-1: http:\/\/\S+\/app#token=\S+/);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
        await db.collection('clients').deleteMany({ name: 'Idempotent demo' });
      }
    });
  });
});
