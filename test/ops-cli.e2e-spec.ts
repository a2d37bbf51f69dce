/* The management CLI as operators run it: real processes (`node apps/cli/bin/chat-cli.js`, what
 * `npm run cli` runs) against the test FerretDB. The round trip: seed, back up, erase, restore, and
 * every document is back byte for byte; the same for one tenant while the other is untouched. The
 * tests run in order on one database (each builds on the state the one before left). Failures and the
 * default setup: test/ops-cli-failures.e2e-spec.ts; set-up: test/support/ops-cli.ts. */
import { join } from 'node:path';
import { mongo } from 'mongoose';
import { jsonError, opsCliSuite } from './support/ops-cli';

jest.setTimeout(180_000);

describe('management CLI (real processes, FerretDB)', () => {
  const { dbName, drillDb, dir, cli, client, db } = opsCliSuite();

  /** Every document of every collection, as raw BSON in _id order: equality here is byte equality. */
  async function snapshot(of: mongo.Db = db): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const { name } of await of.listCollections({}, { nameOnly: true }).toArray()) {
      const docs = await of.collection(name).find({}, { raw: true, sort: { _id: 1 } }).toArray();
      if (docs.length) out[name] = docs.map((d) => Buffer.from(d as unknown as Uint8Array).toString('base64'));
    }
    return out;
  }

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
});
