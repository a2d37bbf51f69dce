/**
 * `node test/support/run-ts.js bench/src/mongoose-write-cpu.ts [ops per block] [blocks]`: the node
 * process's CPU per command of the send path's two per-batch writes, through Mongoose and straight to the
 * driver, on a scratch FerretDB (PostgreSQL backend) of its own:
 * - `insert`: one message document (the batcher's insert at ~1 message per batch): `lean` = the
 *   model's insertMany with `{lean: true}` (before), `driver` = `model.collection.insertMany` (after);
 * - `last_message`: one conversation's last_message statement (LastMessageWriter's flush): `cast` = the
 *   model's bulkWrite (before), `driver` = `model.collection.bulkWrite` (after).
 * Shapes alternate block by block; the process's user+system CPU (process.cpuUsage) and wall time per
 * command are reported as medians of the blocks. Then each pair's stored documents are compared byte for
 * byte (BSON, _id aside): the shapes must store the same thing. The schemas are the project's (with their
 * tenant guard plugin). FERRETDB_BIN, POSTGRES_URL as in ferretdb-outcome-writes.ts.
 */
import mongoose, { Types } from 'mongoose';
import { BSON } from 'mongodb';
import { waitForPort } from '@chat/dev-services';
import { freshProbeDatabase, PROBE_PG as PG, probeFerretDbBin, spawnProbeFerretDb } from './lib/probe-ferretdb';
import { ConversationSchema } from '../../libs/chat/src/conversations/conversation.schema';
import { MessageSchema } from '../../libs/chat/src/messages/message.schema';
import { messageDraft } from '../../libs/chat/src/messages/message-draft';
import type { MessageDraft } from '../../libs/chat/src/messages/message-batch-contract';

const DB = 'mongoosecpuprobe';
const T = 'tenant-probe';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A message as the batcher stores it: the project's own draft builder, plus the batch's _id, tenant and seq. */
function messageDoc(conversationId: string, seq: number, now: Date) {
  const content = { type: 'text', ciphertext: 'A'.repeat(120), nonce: 'B'.repeat(16), v: 1 } as unknown as MessageDraft['content']; // a body of about a text message's size; its fields are not checked here
  const client_msg_id = `c-${seq}-${Math.random().toString(36).slice(2)}`;
  return { _id: new Types.ObjectId(), tenant_id: T, ...messageDraft({ conversation_id: conversationId, sender_id: 'user-000123', client_msg_id, content }, now), seq };
}

function lastMessageOps(conversationId: string, seq: number, now: Date) {
  const last = { content_preview: null, sender_id: 'user-000123', sent_at: now, seq, message_id: new Types.ObjectId().toHexString() };
  return [
    {
      updateOne: {
        filter: { _id: new Types.ObjectId(conversationId), tenant_id: T, $or: [{ last_message: null }, { 'last_message.seq': { $lt: seq } }] },
        update: { $set: { last_message: last }, $max: { updated_at: now, last_seq: seq } },
      },
    },
  ];
}

async function main(): Promise<void> {
  const per = Number(process.argv[2] ?? 200);
  const blocks = Number(process.argv[3] ?? 6);
  const admin = await freshProbeDatabase(DB);
  const { port, child } = await spawnProbeFerretDb(probeFerretDbBin(), `${PG}/${DB}`);
  try {
    await waitForPort(port);
    const conn = await mongoose.createConnection(`mongodb://127.0.0.1:${port}/probe`, { maxPoolSize: 4 }).asPromise();
    const Messages = conn.model('Message', MessageSchema);
    const Conversations = conn.model('Conversation', ConversationSchema);
    await Messages.init();
    // One conversation per shape (each written only by its own shape), as ConversationsRepository finds them.
    const now0 = new Date();
    const conv = { cast: new Types.ObjectId(), driver: new Types.ObjectId() };
    for (const id of Object.values(conv)) {
      await Conversations.collection.insertOne({ _id: id, tenant_id: T, type: 'direct', direct_key: id.toHexString(), participants: [], metadata: { name: null, avatar: null, description: null }, last_seq: 0, last_message: null, last_change_seq: 0, created_by: null, created_at: now0, updated_at: now0 } as never);
    }
    let seq = 0;
    const shapes: Record<string, () => Promise<unknown>> = {
      'insert lean': () => Messages.insertMany([messageDoc('ins-lean', ++seq, new Date())], { lean: true }),
      'insert driver': () => Messages.collection.insertMany([messageDoc('ins-driver', ++seq, new Date())] as never[], { ordered: true }),
      'last_message cast': () => Conversations.bulkWrite(lastMessageOps(conv.cast.toHexString(), ++seq, new Date()) as never[], { ordered: false }),
      'last_message driver': () => Conversations.collection.bulkWrite(lastMessageOps(conv.driver.toHexString(), ++seq, new Date()) as never[], { ordered: false }),
    };
    // Warm-up: every shape, so the JIT and the connections are ready before anything is counted.
    for (const run of Object.values(shapes)) for (let i = 0; i < 50; i++) await run();
    const cpu = new Map<string, number[]>();
    const wall = new Map<string, number[]>();
    const names = Object.keys(shapes);
    for (let b = 0; b < blocks; b++) {
      for (const name of b % 2 ? [...names].reverse() : names) {
        const c0 = process.cpuUsage();
        const w0 = performance.now();
        for (let i = 0; i < per; i++) await shapes[name]!();
        const w = (performance.now() - w0) / per;
        const c = process.cpuUsage(c0);
        (cpu.get(name) ?? cpu.set(name, []).get(name)!).push((c.user + c.system) / per);
        (wall.get(name) ?? wall.set(name, []).get(name)!).push(w * 1000);
      }
    }
    console.log(`| command, shape | client CPU µs per command (median of ${blocks} blocks of ${per}) | wall µs per command |`);
    console.log('| --- | --- | --- |');
    for (const name of names) console.log(`| ${name} | ${median(cpu.get(name)!).toFixed(0)} | ${median(wall.get(name)!).toFixed(0)} |`);

    // What each pair stored, byte for byte (the fields that differ by construction left out).
    const strip = (d: Record<string, unknown> | null, omit: string[]) => {
      const o = { ...(d ?? {}) };
      for (const k of omit) delete o[k];
      return Buffer.from(BSON.serialize(o)).toString('hex');
    };
    const a = await Messages.collection.findOne({ conversation_id: 'ins-lean' });
    const b = await Messages.collection.findOne({ conversation_id: 'ins-driver' });
    const same1 = strip(a, ['_id', 'conversation_id', 'client_msg_id', 'seq', 'created_at', 'updated_at']) === strip(b, ['_id', 'conversation_id', 'client_msg_id', 'seq', 'created_at', 'updated_at']);
    const ca = await Conversations.collection.findOne({ _id: conv.cast });
    const cb = await Conversations.collection.findOne({ _id: conv.driver });
    const lm = (d: Record<string, unknown> | null) => {
      const l = { ...((d?.last_message as Record<string, unknown>) ?? {}) };
      return { keys: Object.keys(l), types: Object.values(l).map((v) => (v === null ? 'null' : v instanceof Date ? 'date' : typeof v)), top: Object.keys(d ?? {}) };
    };
    const same2 = JSON.stringify(lm(ca)) === JSON.stringify(lm(cb));
    console.log(`\nstored alike: message ${same1 ? 'yes' : 'NO'}; conversation (keys, last_message's keys and types) ${same2 ? 'yes' : 'NO'}`);
    if (!same2) console.log(JSON.stringify(lm(ca)), JSON.stringify(lm(cb)));
    await conn.close();
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
