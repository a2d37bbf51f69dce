/*
 * Preloaded (`NODE_OPTIONS=--require .../fault-points.js`) into an app started as a real process by a
 * test, to make it fail at an exact point of the message write path, chosen by the data the test sends:
 *
 * - a message whose client_msg_id starts with `fault:kill-before-store` ends the process (SIGKILL) when
 *   its batch is about to be inserted: the batch's seqs are reserved and never written;
 * - `fault:kill-after-store`: SIGKILL right after the insert is acknowledged, before anything else
 *   (post-commit, events, acks);
 * - `fault:hold-before-store`: the batch's insert waits, its seqs reserved, until the process gets SIGUSR2
 *   (a slow writer that is still alive); it prints `fault:held` on stdout when it starts waiting;
 * - `fault:kill-after-change`: SIGKILL right after an edit or a delete of that message is written
 *   (its edited_at or deleted_at set), before the service raises its event;
 * - `fault:kill-after-member`: SIGKILL right after a membership change adding or removing a user whose
 *   id starts with it is written (participants and change log), before the service raises its event;
 * - `fault:kill-after-report`: SIGKILL right after a message report whose note starts with it is stored,
 *   before its webhook event is recorded;
 * - `fault:kill-after-trace`: SIGKILL right after a write carrying an event trace (EventTrace: the
 *   `event_trace` of a reaction, user, ban... libs/database event-trace.ts) whose write holds a string
 *   starting with it (an emoji, a ban reason, a new user's id), before the service raises its event;
 * - `fault:kill-after-role`: the same after a role change (member_changes `roles`) of a user whose id
 *   starts with it; `fault:kill-after-file`: after a file of such an uploader is confirmed or removed;
 * - `fault:kill-after-reply`: SIGKILL right after the reply count of a thread root whose client_msg_id
 *   starts with it is written (with its event trace), before the replies' and its events are raised;
 * - `fault:kill-after-delete` / `fault:kill-before-delete`: SIGKILL right after (before) the delete of a
 *   user whose external id starts with it (its tombstone, the deletion's event traces, already written);
 * - a last_message update whose preview is `fault:post-commit` (base64) fails once with a closed-connection
 *   error, as when the database connection drops between storing a batch and its post-commit step (alone
 *   or as a statement of a bulk write: then the whole command fails).
 *
 * It patches the MongoDB driver's Collection methods in this process only; nothing in the app knows.
 */
'use strict';
const path = require('node:path');

const mongodb = require(require.resolve('mongodb', { paths: [path.dirname(require.resolve('mongoose'))] }));
const proto = mongodb.Collection.prototype;

const marked = (docs, prefix) => Array.isArray(docs) && docs.some((d) => typeof d?.client_msg_id === 'string' && d.client_msg_id.startsWith(prefix));
const die = () => process.kill(process.pid, 'SIGKILL');

const insertMany = proto.insertMany;
proto.insertMany = async function (docs, ...rest) {
  if (this.collectionName === 'messages' && marked(docs, 'fault:kill-before-store')) die();
  if (this.collectionName === 'messages' && marked(docs, 'fault:hold-before-store')) {
    const released = new Promise((resolve) => process.once('SIGUSR2', resolve));
    process.stdout.write('fault:held\n');
    await released;
  }
  const res = await insertMany.call(this, docs, ...rest);
  if (this.collectionName === 'messages' && marked(docs, 'fault:kill-after-store')) die();
  return res;
};

const TRACE_MARK = 'fault:kill-after-trace';
/** The event traces a write carries: $push {$each}, $set (FerretDB dialect) or an inserted document. */
const tracesOf = (update) => {
  const t = update?.$push?.event_trace?.$each ?? update?.$set?.event_trace ?? update?.event_trace;
  return Array.isArray(t) ? t : [];
};
// The mark may sit in the trace's data (a ban reason, a user id) or beside it in the same write (a reaction's emoji).
const traceMarked = (update) => tracesOf(update).length > 0 && JSON.stringify(update).includes(TRACE_MARK);

const insertOne = proto.insertOne;
proto.insertOne = async function (doc, ...rest) {
  const res = await insertOne.call(this, doc, ...rest);
  if (this.collectionName === 'message_reports' && typeof doc?.note === 'string' && doc.note.startsWith('fault:kill-after-report')) die();
  if (traceMarked(doc)) die();
  return res;
};

const deleteOne = proto.deleteOne;
proto.deleteOne = async function (filter, ...rest) {
  const id = this.collectionName === 'users' && typeof filter?.external_id === 'string' ? filter.external_id : '';
  if (id.startsWith('fault:kill-before-delete')) die();
  const res = await deleteOne.call(this, filter, ...rest);
  if (id.startsWith('fault:kill-after-delete')) die();
  return res;
};

const failedOnce = new Set();
const POST_COMMIT_MARK = Buffer.from('fault:post-commit').toString('base64');
/** Whether this conversations update carries the marked last_message not failed yet (it is marked failed now). */
const failsPostCommit = (collection, update) => {
  const last = update?.$set?.last_message;
  if (collection.collectionName !== 'conversations' || last?.content_preview !== POST_COMMIT_MARK || failedOnce.has(last.message_id)) return false;
  failedOnce.add(last.message_id);
  return true;
};
const bulkWrite = proto.bulkWrite;
proto.bulkWrite = async function (ops, ...rest) {
  if ((ops ?? []).some((op) => failsPostCommit(this, op?.updateOne?.update))) throw new mongodb.MongoNetworkError('connection 7 to 127.0.0.1:27017 closed');
  return bulkWrite.call(this, ops, ...rest);
};
for (const name of ['updateOne', 'findOneAndUpdate']) {
  const original = proto[name];
  proto[name] = async function (filter, update, ...rest) {
    if (failsPostCommit(this, update)) throw new mongodb.MongoNetworkError('connection 7 to 127.0.0.1:27017 closed');
    const res = await original.call(this, filter, update, ...rest);
    const set = update?.$set;
    if (this.collectionName === 'messages' && (set?.edited_at || set?.deleted_at)) {
      // findOneAndUpdate answers the document, or { value } with includeResultMetadata.
      const doc = res && typeof res === 'object' && 'value' in res && 'ok' in res ? res.value : res;
      if (typeof doc?.client_msg_id === 'string' && doc.client_msg_id.startsWith('fault:kill-after-change')) die();
    }
    if (this.collectionName === 'messages' && update?.$inc?.['thread.reply_count'] !== undefined) {
      const doc = res && typeof res === 'object' && 'value' in res && 'ok' in res ? res.value : res;
      if (typeof doc?.client_msg_id === 'string' && doc.client_msg_id.startsWith('fault:kill-after-reply')) die();
    }
    const changes = set?.member_changes;
    if (this.collectionName === 'conversations' && Array.isArray(changes) && changes.length) {
      const last = changes[changes.length - 1];
      if ([...(last.added ?? []), ...(last.removed ?? [])].some((id) => String(id).startsWith('fault:kill-after-member'))) die();
      if ((last.roles ?? []).some((r) => String(r.user_id).startsWith('fault:kill-after-role'))) die();
    }
    if (traceMarked(update)) die();
    if (this.collectionName === 'files' && (set?.confirmed_at || set?.deleted_reason === 'removed')) {
      const doc = res && typeof res === 'object' && 'value' in res && 'ok' in res ? res.value : res;
      if (typeof doc?.uploader_id === 'string' && doc.uploader_id.startsWith('fault:kill-after-file')) die();
    }
    return res;
  };
}
