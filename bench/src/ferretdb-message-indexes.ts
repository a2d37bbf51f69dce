/**
 * `node test/support/run-ts.js bench/src/ferretdb-message-indexes.ts [conversations] [per]` (default 100
 * 500): which of the indexes the app declares on `messages` (and `conversations`) FerretDB v1.24.2 on
 * PostgreSQL ever uses, and what they cost a batch insert (issue 16).
 *
 * One fresh FerretDB on a scratch PostgreSQL database (POSTGRES_URL), three copies of the same messages:
 *  - `messages`:        every index the app's schemas declare on the collection (MessageSchema, the
 *                       retention and webhook-sweep views), built from the schemas' own `indexes()`;
 *  - `messages_unique`: only the unique ones;
 *  - `messages_gin`:    the unique ones and `ferretdb_gin_conversation_id` (our build makes it GIN).
 * Filled in interleaved batches of 100 messages spread over the conversations (the insert cost: wall ms
 * per batch and CPU ms of FerretDB and of its PostgreSQL backends). Then the app's message reads, with
 * their filters, sorts and limits as the repositories send them (tenant_id added as TenantRepository
 * does): PostgreSQL's plan from FerretDB's `explain` (node types, index names, what was pushed down),
 * wall and CPU per read on each copy. Last, after FerretDB exits (its backends flush their statistics),
 * `pg_stat_user_indexes.idx_scan` of every index: how often PostgreSQL scanned it during the whole run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, ObjectId, type Collection, type Document } from 'mongodb';
import { Client } from 'pg';
import type { Schema } from 'mongoose';
import { createPostgresDatabase, dropPostgresDatabase, findPostgres, startFerretDb } from '@chat/dev-services';
import { MessageSchema } from '../../libs/chat/src/messages/message.schema';
import { ConversationSchema } from '../../libs/chat/src/conversations/conversation.schema';
import { RetainedMessageSchema } from '../../libs/retention/src/retention.schemas';
import { SweptConversationSchema, SweptMessageSchema } from '../../libs/webhooks/src/webhook.schemas';
import { SWEPT_TRACE_SCHEMAS, sweptTraceModel } from '../../libs/webhooks/src/swept-traces.repository';
import { cpuMs, median } from './lib/pending-rows';

const TENANT = 'tenant-probe';
const BATCH = 100;

/** Every index the schemas declare, as createIndex would get it (duplicates across views once). */
function declared(schemas: Schema[]): Array<{ key: Document; unique: boolean; sparse: boolean }> {
  const seen = new Map<string, { key: Document; unique: boolean; sparse: boolean }>();
  for (const s of schemas) {
    for (const [key, opts] of s.indexes()) seen.set(JSON.stringify(key), { key, unique: Boolean((opts as { unique?: boolean }).unique), sparse: Boolean((opts as { sparse?: boolean }).sparse) });
  }
  return [...seen.values()];
}

function message(c: number, seq: number, now: number): Document {
  const conv = convId(c);
  const created = new Date(now - (500_000 - seq) * 1000);
  // Every 10th message a reply to the conversation's first message; every 5th carries search tokens.
  const parent = seq > 1 && seq % 10 === 0 ? parentId(c) : null;
  return {
    _id: seq === 1 ? new ObjectId(parentId(c)) : new ObjectId(),
    tenant_id: TENANT,
    conversation_id: conv,
    seq,
    sender_id: `user-${(c + seq) % 7}`,
    client_msg_id: `cm-${c}-${seq}`,
    content: {
      type: 'text',
      algorithm: 'x25519-aes256gcm',
      sender_device_id: 'dev-1',
      encrypted_data: 'A'.repeat(160) + seq,
      encrypted_key: [0, 1].map((i) => ({ user_id: `user-${i}`, device_id: 'dev-1', key_version: 1, wrapped_key: 'K'.repeat(60) })),
    },
    preview: null,
    search_tokens: seq % 5 === 0 ? [`tok-${seq % 50}`, `tok-${(seq * 7) % 50}`] : [],
    mentions: [],
    reactions: [],
    thread: { parent_id: parent, reply_count: 0 },
    read_by: [],
    status: 'sent',
    gap: false,
    created_at: created,
    updated_at: created,
    edited_at: seq % 50 === 0 ? created : null,
    deleted_at: null,
    change_seq: seq % 20 === 0 ? seq : 0,
    type: 'regular',
    text: null,
  };
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const convId = (c: number) => `a${c.toString(16).padStart(23, '0')}`;
const parentId = (c: number) => `b${c.toString(16).padStart(23, '0')}`;
const conversationId = (c: number) => new ObjectId(`c${c.toString(16).padStart(23, '0')}`);

/** CPU ms of the PostgreSQL backends serving database `db` so far (FerretDB's pool). */
async function pgCpuMs(admin: Client, db: string): Promise<number> {
  const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [db]);
  let sum = 0;
  for (const { pid } of rows) {
    try {
      sum += cpuMs(pid);
    } catch {
      // a backend that just exited
    }
  }
  return sum;
}

/** Node types and index names of a PostgreSQL JSON plan. */
function planOf(node: any, out: string[] = []): string[] {
  if (!node || typeof node !== 'object') return out;
  if (node['Node Type']) out.push(node['Index Name'] ? `${node['Node Type']}(${node['Index Name']})` : node['Node Type']);
  for (const child of node.Plans ?? []) planOf(child, out);
  return out;
}

async function main(): Promise<void> {
  const [nConv, per] = [Number(process.argv[2] ?? 100), Number(process.argv[3] ?? 500)];
  const pg = await findPostgres(process.env, () => undefined);
  if (!pg) throw new Error('no PostgreSQL');
  const dbName = `msg_idx_${process.pid}`;
  const url = await createPostgresDatabase(pg, dbName);
  const dir = mkdtempSync(join(tmpdir(), 'msg-idx-'));
  const f = await startFerretDb({ dataDir: dir, postgresqlUrl: url, log: () => undefined, reuse: false });
  const admin = new Client({ connectionString: url });
  await admin.connect();
  const client = new MongoClient(f.uri);
  const fpid = f.process!.pid!;
  let stopped = false;
  try {
    const d = client.db('probe');
    const traces = (c: 'messages' | 'conversations') => SWEPT_TRACE_SCHEMAS.find((s) => s.name === sweptTraceModel(c))!.schema as unknown as Schema;
    const msgIdx = declared([MessageSchema, RetainedMessageSchema, SweptMessageSchema, traces('messages')]);
    const convIdx = declared([ConversationSchema, SweptConversationSchema, traces('conversations')]);
    console.log(`messages indexes declared: ${msgIdx.map((i) => JSON.stringify(i.key) + (i.unique ? ' unique' : '')).join(', ')}`);
    console.log(`conversations indexes declared: ${convIdx.map((i) => JSON.stringify(i.key) + (i.unique ? ' unique' : '')).join(', ')}`);
    const copies: Record<'all' | 'unique' | 'gin', Collection> = { all: d.collection('messages'), unique: d.collection('messages_unique'), gin: d.collection('messages_gin') };
    for (const i of msgIdx) await copies.all.createIndex(i.key, { unique: i.unique, ...(i.sparse ? { sparse: true } : {}) });
    for (const i of msgIdx.filter((x) => x.unique)) {
      await copies.unique.createIndex(i.key, { unique: true });
      await copies.gin.createIndex(i.key, { unique: true });
    }
    await copies.gin.createIndex({ conversation_id: 1 }, { name: 'ferretdb_gin_conversation_id' });

    // Fill: batches of 100 messages spread over the conversations (as the write batcher's are), each
    // batch into the three copies in a rotating order.
    const now = Date.now();
    const total = nConv * per;
    const cost: Record<string, { wall: number[]; fcpu: number; pcpu: number }> = { all: { wall: [], fcpu: 0, pcpu: 0 }, unique: { wall: [], fcpu: 0, pcpu: 0 }, gin: { wall: [], fcpu: 0, pcpu: 0 } };
    const order: Array<'all' | 'unique' | 'gin'> = ['all', 'unique', 'gin'];
    for (let start = 0, b = 0; start < total; start += BATCH, b++) {
      const docs = Array.from({ length: Math.min(BATCH, total - start) }, (_, k) => {
        const i = start + k;
        return message(i % nConv, Math.floor(i / nConv) + 1, now);
      });
      for (let j = 0; j < 3; j++) {
        const name = order[(b + j) % 3]!;
        const batch = docs.map((x) => ({ ...x }));
        const [f0, p0, t0] = [cpuMs(fpid), await pgCpuMs(admin, dbName), performance.now()];
        await copies[name].insertMany(batch, { ordered: true });
        const wall = performance.now() - t0;
        cost[name]!.wall.push(wall);
        cost[name]!.fcpu += cpuMs(fpid) - f0;
        cost[name]!.pcpu += (await pgCpuMs(admin, dbName)) - p0;
      }
    }
    const batches = Math.ceil(total / BATCH);
    console.log(`\n## insert, ${total} messages per copy in ${batches} batches of ${BATCH}`);
    console.log('| copy | wall ms/batch p50 | p90 | FerretDB CPU ms/batch | PostgreSQL CPU ms/batch |');
    for (const name of order) {
      const w = [...cost[name]!.wall].sort((a, b) => a - b);
      console.log(`| ${name} | ${median(w).toFixed(2)} | ${w[Math.floor(w.length * 0.9)]!.toFixed(2)} | ${(cost[name]!.fcpu / batches).toFixed(2)} | ${(cost[name]!.pcpu / batches).toFixed(2)} |`);
    }

    // The app's reads of `messages` (messages.repository.ts, message-stream.ts, retention, webhook sweep).
    const c0 = convId(7);
    const mid = Math.floor(per / 2);
    const reads: Array<{ label: string; filter: Document; sort?: Document; limit?: number; projection?: Document; tenantWide?: boolean }> = [
      { label: 'maxSeq', filter: { tenant_id: TENANT, conversation_id: c0 }, sort: { seq: -1 }, limit: 1, projection: { seq: 1 } },
      { label: 'history page (newest 50)', filter: { tenant_id: TENANT, conversation_id: c0 }, sort: { seq: -1 }, limit: 50 },
      { label: 'history page before_seq', filter: { tenant_id: TENANT, conversation_id: c0, seq: { $lt: mid } }, sort: { seq: -1 }, limit: 50 },
      { label: 'sync range after_seq (limit 101)', filter: { tenant_id: TENANT, conversation_id: c0, seq: { $gt: mid } }, sort: { seq: 1 }, limit: 101 },
      { label: 'changes after change_seq', filter: { tenant_id: TENANT, conversation_id: c0, change_seq: { $gt: 0 }, seq: { $lte: per } }, sort: { change_seq: 1 }, limit: 50 },
      { label: 'thread replies', filter: { tenant_id: TENANT, conversation_id: c0, 'thread.parent_id': parentId(7), seq: { $gt: 0 } }, sort: { seq: 1 }, limit: 50 },
      { label: 'search (one token)', filter: { tenant_id: TENANT, conversation_id: c0, search_tokens: { $all: ['tok-10'] }, deleted_at: null }, sort: { seq: -1 }, limit: 20 },
      { label: 'findByClientMsgFields', filter: { tenant_id: TENANT, conversation_id: c0, sender_id: 'user-1', client_msg_id: { $in: ['cm-7-1', 'cm-7-8'] } } },
      { label: 'findInConversation (_id + conv)', filter: { _id: new ObjectId(parentId(7)), conversation_id: c0 } },
      { label: 'receipts ids (markReadRange)', filter: { tenant_id: TENANT, conversation_id: c0, seq: { $gt: mid, $lte: mid + 20 }, sender_id: { $ne: 'user-1' }, deleted_at: null, status: { $in: ['sent', 'delivered'] } }, projection: { _id: 1 } },
      { label: 'retention expired batch', filter: { tenant_id: TENANT, created_at: { $lt: new Date(now - 400_000_000) } }, sort: { _id: 1 }, limit: 500, projection: { _id: 1, conversation_id: 1 }, tenantWide: true },
      { label: 'retention soft-deleted batch', filter: { tenant_id: TENANT, deleted_at: { $lt: new Date(now) } }, sort: { _id: 1 }, limit: 500, projection: { _id: 1, conversation_id: 1 }, tenantWide: true },
      { label: 'sweep storedBetween', filter: { tenant_id: TENANT, created_at: { $gte: new Date(now - 60_000), $lt: new Date(now) } }, sort: { created_at: 1 }, limit: 100, tenantWide: true },
      { label: 'sweep editedBetween', filter: { tenant_id: TENANT, edited_at: { $gte: new Date(now - 60_000_000), $lt: new Date(now) } }, sort: { edited_at: 1 }, limit: 100, tenantWide: true },
      { label: 'sweep event traces between', filter: { tenant_id: TENANT, 'event_trace.at': { $gte: new Date(now - 60_000), $lt: new Date(now) } }, limit: 1000, tenantWide: true },
      { label: 'sweep deletedBetween', filter: { tenant_id: TENANT, deleted_at: { $gte: new Date(now - 60_000), $lt: new Date(now) } }, sort: { deleted_at: 1 }, limit: 100, tenantWide: true },
    ];
    console.log(`\n## reads (conversation of ${per} messages; plan from FerretDB explain on each copy)`);
    console.log('| read | copy | pushed down (filter/sort/limit) | PostgreSQL plan | wall ms p50 | FerretDB CPU ms (mean) | PostgreSQL CPU ms (mean) | docs |');
    for (const r of reads) {
      for (const name of order) {
        const coll = copies[name];
        const ex = await d.command({ explain: { find: coll.collectionName, filter: r.filter, ...(r.sort ? { sort: r.sort } : {}), ...(r.limit ? { limit: r.limit } : {}) }, verbosity: 'queryPlanner' });
        const plan = planOf((ex.queryPlanner as any)?.Plan ?? (ex.queryPlanner as any)?.[0]?.Plan ?? ex.queryPlanner).join(' > ');
        const pushed = `${ex.filterPushdown ? 'F' : '-'}${ex.sortPushdown ? 'S' : '-'}${ex.limitPushdown ? 'L' : '-'}`;
        const run = () => coll.find(r.filter, { ...(r.sort ? { sort: r.sort } : {}), ...(r.limit ? { limit: r.limit } : {}), ...(r.projection ? { projection: r.projection } : {}) }).toArray();
        // A tenant-wide read fetches every message of the tenant from PostgreSQL into FerretDB whatever
        // the indexes (only tenant_id is pushed down): its plan on each copy, its cost once, on `all`.
        if (r.tenantWide && name !== 'all') {
          console.log(`| ${r.label} | ${name} | ${pushed} | ${plan} | | | | |`);
          continue;
        }
        const n = r.tenantWide ? -1 : (await run()).length;
        const walls: number[] = [];
        const fc: number[] = [];
        const pc: number[] = [];
        for (let i = 0; i < (r.tenantWide ? 1 : 7); i++) {
          const [f0, p0, t0] = [cpuMs(fpid), await pgCpuMs(admin, dbName), performance.now()];
          await run();
          walls.push(performance.now() - t0);
          fc.push(cpuMs(fpid) - f0);
          pc.push((await pgCpuMs(admin, dbName)) - p0);
        }
        console.log(`| ${r.label} | ${name} | ${pushed} | ${plan} | ${median(walls).toFixed(2)} | ${mean(fc).toFixed(1)} | ${mean(pc).toFixed(1)} | ${n < 0 ? '' : n} |`);
      }
    }

    // conversations: the list reads and the last_message flush's update filter, on the app's indexes.
    const convs = d.collection('conversations');
    for (const i of convIdx) await convs.createIndex(i.key, { unique: i.unique }).catch((e: Error) => console.log(`conversations index ${JSON.stringify(i.key)} not created: ${e.message}`));
    await convs.insertMany(
      Array.from({ length: nConv * 10 }, (_, c) => ({
        _id: conversationId(c),
        tenant_id: TENANT,
        type: c % 3 === 0 ? 'channel' : 'group',
        direct_key: `dk-${c}`,
        participants: [0, 1, 2].map((k) => ({ user_id: `user-${(c + k) % 50}`, role: 'member' })),
        last_seq: 0,
        last_message: null,
        created_at: new Date(now - c * 1000),
        updated_at: new Date(now - c * 1000),
        member_changes: [],
      })),
    );
    const convReads: Array<{ label: string; filter: Document; sort?: Document; limit?: number }> = [
      { label: 'listForUser', filter: { tenant_id: TENANT, 'participants.user_id': 'user-3' }, sort: { updated_at: -1, _id: -1 }, limit: 20 },
      { label: 'listChannels', filter: { tenant_id: TENANT, type: 'channel' }, sort: { updated_at: -1, _id: -1 }, limit: 20 },
      { label: 'last_message flush (by _id, last_seq $lt)', filter: { _id: conversationId(5), last_seq: { $lt: 10 } } },
      { label: 'sweep conversations created', filter: { tenant_id: TENANT, created_at: { $gte: new Date(now - 60_000), $lt: new Date(now) } }, sort: { created_at: 1 }, limit: 100 },
    ];
    console.log('\n## conversations reads');
    console.log('| read | pushed down | PostgreSQL plan |');
    for (const r of convReads) {
      const ex = await d.command({ explain: { find: 'conversations', filter: r.filter, ...(r.sort ? { sort: r.sort } : {}), ...(r.limit ? { limit: r.limit } : {}) }, verbosity: 'queryPlanner' });
      for (let i = 0; i < 5; i++) await convs.find(r.filter, { ...(r.sort ? { sort: r.sort } : {}), ...(r.limit ? { limit: r.limit } : {}) }).toArray();
      console.log(`| ${r.label} | ${ex.filterPushdown ? 'F' : '-'}${ex.sortPushdown ? 'S' : '-'}${ex.limitPushdown ? 'L' : '-'} | ${planOf((ex.queryPlanner as any)?.Plan ?? ex.queryPlanner).join(' > ')} |`);
    }
    for (let i = 0; i < 50; i++) await convs.updateOne({ _id: conversationId(i % 100), last_seq: { $lt: i + 1 } }, { $max: { last_seq: i + 1 } });

    // Every index's scans over the whole run, once FerretDB's backends have exited (and flushed them).
    await client.close();
    await f.stop();
    stopped = true;
    const meta = await admin.query<{ j: any }>(`SELECT _jsonb AS j FROM probe._ferretdb_database_metadata`);
    const names = new Map<string, string>();
    for (const { j } of meta.rows) for (const ix of j.indexes ?? []) names.set(ix.pgindex, `${j._id}.${ix.name}`);
    const stats = await admin.query<{ indexrelname: string; idx_scan: string }>(`SELECT indexrelname, idx_scan FROM pg_stat_user_indexes WHERE schemaname = 'probe' ORDER BY relname, indexrelname`);
    console.log('\n## pg_stat_user_indexes over the whole run (FerretDB stopped)');
    console.log('| collection.index | idx_scan |');
    for (const s of stats.rows) console.log(`| ${names.get(s.indexrelname) ?? s.indexrelname} | ${s.idx_scan} |`);
  } finally {
    if (!stopped) {
      await client.close().catch(() => undefined);
      await f.stop();
    }
    await admin.end();
    await dropPostgresDatabase(pg, dbName);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
