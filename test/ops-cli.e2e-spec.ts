/* The management CLI as operators run it: real processes (`node apps/cli/bin/chat-cli.js`, what
 * `npm run cli` runs) against the test FerretDB. The round trip: seed, back up, erase, restore, and
 * every document is back byte for byte; the same for one tenant while the other is untouched. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { mongo } from 'mongoose';
import { TEST_PLATFORM_ENV } from './support/factories';

const run = promisify(execFile);
const CLI = join(__dirname, '..', 'apps', 'cli', 'bin', 'chat-cli.js');

jest.setTimeout(180_000);

describe('management CLI (real processes, FerretDB)', () => {
  const dbName = `ops_cli_${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'ops-cli-'));
  let client: mongo.MongoClient;
  let db: mongo.Db;

  async function cli(args: string[], opts: { expectFail?: boolean } = {}): Promise<{ stdout: string; stderr: string; json: any }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, '--json', ...args], {
        env: { ...process.env, ...TEST_PLATFORM_ENV, MONGODB_DB: dbName, LOG_LEVEL: 'warn' },
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

  /** Every document of every collection, as raw BSON in _id order: equality here is byte equality. */
  async function snapshot(): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
      const docs = await db.collection(name).find({}, { raw: true, sort: { _id: 1 } }).toArray();
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

  it('shard --dry-run prints the commands with the documented keys and zones; a real run refuses on FerretDB', async () => {
    const plan = (await cli(['shard', '--dry-run', '--zone', 'eu=shard-eu-1', '--zone', 'us=shard-us-1'])).json;
    expect(plan.commands[0]).toBe(`sh.enableSharding("${dbName}")`);
    expect(plan.commands).toContain(`sh.shardCollection("${dbName}.messages", {"tenant_id":1,"conversation_id":1})`);
    expect(plan.commands).toContain('sh.addShardToZone("shard-eu-1", "eu")');
    expect(plan.commands.some((c: string) => c.startsWith(`sh.updateZoneKeyRange("${dbName}.messages", { "tenant_id": "${tenantA}", "conversation_id": MinKey }`) && c.endsWith('"eu")'))).toBe(true);
    expect(plan.commands.some((c: string) => c.includes(`"tenant_id": "${tenantB}"`) && c.endsWith('"us")'))).toBe(true);
    const real = await cli(['shard'], { expectFail: true });
    expect(real.stderr).toMatch(/mongos/);
  });

  it('rejects bad input with a message and exit code 1', async () => {
    const r = await cli(['restore', join(dir, 'no-such-archive.tar.gz')], { expectFail: true });
    expect(r.stderr).toMatch(/^error: /m);
  });
});
