import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types } from 'mongoose';
import type { FilterQuery } from 'mongoose';
import { TenantConnectionResolver, TenantRepository, unguessableObjectId } from '@chat/tenancy';
import { DocumentLock, EventTrace, isDuplicateKeyError, mergeUpdates, StoreDialect } from '@chat/database';
import { ClientMsgKey, messageIdFor } from './message-id';
import { MESSAGE_MODEL, MessageContent, MessageDoc, MessageRecord, Reaction } from './message.schema';
import { replyCountTrace } from './reply-count-trace';

export type NewMessage = Omit<MessageDoc, 'tenant_id'> & { _id: Types.ObjectId };

/** Outcome of one document of a batch insert. */
export type InsertOutcome = { ok: true } | { ok: false; duplicateKey: boolean; error: Error };

/** Messages of the current tenant (TenantContext). Conversation ids are the conversation's ObjectId as a string. */
@Injectable()
export class MessagesRepository extends TenantRepository<MessageDoc> {
  /**
   * Every update of a message goes through here: serialised per message on FerretDB, whose updates
   * are read-modify-write and lose concurrent changes (StoreDialect); a plain call on MongoDB.
   */
  private readonly locked: DocumentLock;

  constructor(
    @InjectModel(MESSAGE_MODEL) model: Model<MessageDoc>,
    resolver: TenantConnectionResolver,
    private readonly dialect: StoreDialect,
  ) {
    super(model, resolver);
    this.locked = dialect.lockFor(() => `messages:${this.tenant('lock')}`);
  }

  /** Updates every message matching the filter (StoreDialect: one updateMany, or one locked update per message on FerretDB). */
  private updateEach(filter: FilterQuery<MessageDoc>, update: Record<string, unknown>): Promise<number> {
    return this.dialect.updateEach(this.locked.scope(), {
      many: async () => (await this.updateMany(filter, update)).modifiedCount,
      ids: async () => (await this.find(filter, { projection: { _id: 1 } })).map((d) => String(d._id)),
      one: async (id) => (await this.updateOne({ ...filter, _id: new Types.ObjectId(id) }, update)).modifiedCount,
    });
  }

  /**
   * One insert for a whole batch. Returns one outcome per document, in order, so the batcher can tell a
   * duplicate client_msg_id (unique index) from any other failure. The insert is ordered and unvalidated
   * (lean: the service builds every field): when a document fails, the ones before it are stored and the
   * insert resumes after it, so a duplicate costs one more round trip. (Mongoose's bulkWrite, the
   * unordered alternative, validates each document and measured ~7x slower for 256 messages.) Straight
   * to the driver (insertManyUncast): lean insertMany stores the same documents but adds its middleware
   * and a setImmediate per document before the command leaves, paid by every batch.
   * A failure that is not about one document (network, shutdown) is thrown: the caller cannot know
   * which documents were stored, and the unique indexes make a retry safe.
   */
  async insertBatch(docs: NewMessage[]): Promise<InsertOutcome[]> {
    const outcomes: InsertOutcome[] = docs.map(() => ({ ok: true }));
    let start = 0;
    while (start < docs.length) {
      try {
        await this.insertManyUncast(docs.slice(start));
        break;
      } catch (err: any) {
        const writeErrors = err?.writeErrors ? (Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors]) : [];
        const first = writeErrors[0];
        const index = first?.index ?? first?.err?.index;
        if (typeof index !== 'number' || start + index >= docs.length) throw err;
        outcomes[start + index] = { ok: false, duplicateKey: isDuplicateKeyError(first) || isDuplicateKeyError(err), error: toError(first) };
        start += index + 1;
      }
    }
    return outcomes;
  }

  /** Messages stored under these keys: one query by their derived _id (see message-id.ts). */
  async findByClientMsgIds(keys: ClientMsgKey[]): Promise<MessageRecord[]> {
    if (!keys.length) return [];
    const t = this.tenant('findByClientMsgIds');
    const found = (await this.findByIds(keys.map((k) => messageIdFor(t, k)))) as MessageRecord[];
    // Keep only exact key matches (a hash collision must never pass for a retry).
    const wanted = new Set(keys.map((k) => `${k.conversation_id}\u0000${k.sender_id}\u0000${k.client_msg_id}`));
    return found.filter((m) => wanted.has(`${m.conversation_id}\u0000${m.sender_id}\u0000${m.client_msg_id}`));
  }

  /** The same lookup by the key's fields: served by the unique index on MongoDB, a scan on FerretDB. */
  findByClientMsgFields(keys: ClientMsgKey[]): Promise<MessageRecord[]> {
    if (!keys.length) return Promise.resolve([]);
    const groups = new Map<string, { conversation_id: string; sender_id: string; ids: Set<string> }>();
    for (const k of keys) {
      const g = `${k.conversation_id}\u0000${k.sender_id}`;
      if (!groups.has(g)) groups.set(g, { conversation_id: k.conversation_id, sender_id: k.sender_id, ids: new Set() });
      groups.get(g)!.ids.add(k.client_msg_id);
    }
    const branches = [...groups.values()].map((g) => ({ conversation_id: g.conversation_id, sender_id: g.sender_id, client_msg_id: { $in: [...g.ids] } }));
    return this.find(branches.length === 1 ? branches[0]! : { $or: branches }) as Promise<MessageRecord[]>;
  }

  findInConversation(conversationId: string, messageId: string): Promise<MessageRecord | null> {
    if (!TenantRepository.isObjectId(messageId)) return Promise.resolve(null);
    return this.findOne({ _id: new Types.ObjectId(messageId), conversation_id: conversationId }) as Promise<MessageRecord | null>;
  }

  /** The highest stored seq of the conversation, gap tombstones included (0: none). Served by the {conversation_id, seq} index. */
  async maxSeq(conversationId: string): Promise<number> {
    const [top] = await this.find({ conversation_id: conversationId }, { sort: { seq: -1 }, limit: 1, projection: { seq: 1 } });
    return top?.seq ?? 0;
  }

  /**
   * A page of history served by the {conversation_id, seq} index: newest first below `beforeSeq`
   * (or from the end), oldest first above `afterSeq`. Never skip().
   */
  page(conversationId: string, opts: { beforeSeq?: number; afterSeq?: number; limit: number }): Promise<MessageRecord[]> {
    const filter: FilterQuery<MessageDoc> = { conversation_id: conversationId };
    if (opts.afterSeq !== undefined) {
      filter.seq = opts.beforeSeq !== undefined ? { $gt: opts.afterSeq, $lt: opts.beforeSeq } : { $gt: opts.afterSeq };
      return this.find(filter, { sort: { seq: 1 }, limit: opts.limit }) as Promise<MessageRecord[]>;
    }
    if (opts.beforeSeq !== undefined) filter.seq = { $lt: opts.beforeSeq };
    return this.find(filter, { sort: { seq: -1 }, limit: opts.limit }) as Promise<MessageRecord[]>;
  }

  /**
   * Messages changed after `afterChange` (edits, deletes, reactions, thread counters), in change order,
   * among seqs up to `upToSeq` (what the client already holds). Served by {conversation_id, change_seq}.
   */
  changes(conversationId: string, afterChange: number, upToSeq: number, limit: number): Promise<MessageRecord[]> {
    return this.find(
      { conversation_id: conversationId, change_seq: { $gt: afterChange }, seq: { $lte: upToSeq } },
      { sort: { change_seq: 1 }, limit },
    ) as Promise<MessageRecord[]>;
  }

  replies(conversationId: string, parentId: string, afterSeq: number, limit: number): Promise<MessageRecord[]> {
    return this.find(
      { conversation_id: conversationId, 'thread.parent_id': parentId, seq: { $gt: afterSeq } },
      { sort: { seq: 1 }, limit },
    ) as Promise<MessageRecord[]>;
  }

  /**
   * Messages carrying every token of one of the sets, newest first (per set, the index serves the first
   * token and the rest filter; several sets are an $or of such clauses).
   */
  search(conversationId: string, tokenSets: string[][], beforeSeq: number | undefined, limit: number): Promise<MessageRecord[]> {
    const clauses = tokenSets.map((tokens) => ({ search_tokens: { $all: tokens } }));
    const filter: FilterQuery<MessageDoc> =
      clauses.length === 1 ? { conversation_id: conversationId, ...clauses[0], deleted_at: null } : { conversation_id: conversationId, $or: clauses, deleted_at: null };
    if (beforeSeq !== undefined) filter.seq = { $lt: beforeSeq };
    return this.find(filter, { sort: { seq: -1 }, limit }) as Promise<MessageRecord[]>;
  }

  /** Sender-only edit of a live message: one conditional update. */
  edit(
    conversationId: string,
    messageId: string,
    senderId: string,
    patch: { content: MessageContent; preview: string | null; search_tokens: string[]; mentions: string[] },
    now: Date,
    changeSeq: number,
  ): Promise<MessageRecord | null> {
    if (!TenantRepository.isObjectId(messageId)) return Promise.resolve(null);
    return this.locked(messageId, () =>
      this.findOneAndUpdate(
        { _id: new Types.ObjectId(messageId), conversation_id: conversationId, sender_id: senderId, deleted_at: null },
        { $set: { ...patch, edited_at: now, updated_at: now }, $max: { change_seq: changeSeq } },
      ),
    ) as Promise<MessageRecord | null>;
  }

  /** Tombstone: content, tokens, mentions and reactions go; seq, sender and thread links stay. Null if already deleted. */
  softDelete(conversationId: string, messageId: string, now: Date, changeSeq: number): Promise<MessageRecord | null> {
    if (!TenantRepository.isObjectId(messageId)) return Promise.resolve(null);
    return this.locked(messageId, () =>
      this.findOneAndUpdate(
        { _id: new Types.ObjectId(messageId), conversation_id: conversationId, deleted_at: null },
        { $set: { content: null, text: null, preview: null, search_tokens: [], mentions: [], reactions: [], status: 'deleted', deleted_at: now, updated_at: now }, $max: { change_seq: changeSeq } },
      ),
    ) as Promise<MessageRecord | null>;
  }

  /** The update appending `trace` to the message's event trace (StoreDialect.traceUpdate): inside `locked`. */
  private traceUpdate(_id: Types.ObjectId, trace: EventTrace): Promise<Record<string, Record<string, unknown>>> {
    return this.dialect.traceUpdate(trace, async () => (await this.findOne({ _id }, { event_trace: 1 }))?.event_trace);
  }

  /**
   * Adds the reaction unless this user already has this emoji on the message (one conditional push).
   * `trace`: the reaction.new event, written in the same update (docs/webhooks.md, Durability).
   */
  async addReaction(conversationId: string, messageId: string, reaction: Reaction, changeSeq: number, trace: EventTrace): Promise<'added' | 'exists' | 'missing'> {
    if (!TenantRepository.isObjectId(messageId)) return 'missing';
    const _id = new Types.ObjectId(messageId);
    const res = await this.locked(messageId, async () =>
      this.updateOne(
        // $nor, not {'reactions.key': {$ne}}: FerretDB v1 matches $ne on an array of subdocuments if ANY element differs.
        { _id, conversation_id: conversationId, deleted_at: null, $nor: [{ 'reactions.key': reaction.key }] },
        mergeUpdates({ $push: { reactions: reaction }, $set: { updated_at: reaction.created_at }, $max: { change_seq: changeSeq } }, await this.traceUpdate(_id, trace)),
      ),
    );
    if (res.modifiedCount === 1) return 'added';
    return (await this.exists({ _id, conversation_id: conversationId, deleted_at: null })) ? 'exists' : 'missing';
  }

  /**
   * Removes a reaction. FerretDB's $pull only matches whole elements, so the element is read first and
   * pulled by exact value (a concurrent remove of the same element simply matches nothing). `trace`:
   * the reaction.deleted event, written in the same update.
   */
  async removeReaction(conversationId: string, messageId: string, key: string, now: Date, changeSeq: number, trace: EventTrace): Promise<'removed' | 'absent' | 'missing'> {
    if (!TenantRepository.isObjectId(messageId)) return 'missing';
    const _id = new Types.ObjectId(messageId);
    return this.locked(messageId, async () => {
      const doc = await this.findOne({ _id, conversation_id: conversationId, deleted_at: null }, { reactions: 1, event_trace: 1 });
      if (!doc) return 'missing' as const;
      const element = (doc.reactions ?? []).find((r) => r.key === key);
      if (!element) return 'absent' as const;
      const res = await this.updateOne(
        { _id, conversation_id: conversationId },
        mergeUpdates(
          { $pull: { reactions: { user_id: element.user_id, emoji: element.emoji, key: element.key, created_at: element.created_at } }, $set: { updated_at: now }, $max: { change_seq: changeSeq } },
          await this.dialect.traceUpdate(trace, async () => doc.event_trace),
        ),
      );
      return res.modifiedCount === 1 ? ('removed' as const) : ('absent' as const);
    });
  }

  /**
   * Keeps the parent's reply_count right (+n on replies, -1 when a reply is deleted). Returns the parent.
   * The change's `message.updated` trace (replyCountTrace: its key is the parent and `now`, the
   * updated_at the event is named by) is written in the same update (docs/webhooks.md, Durability).
   */
  incReplyCount(conversationId: string, parentId: string, by: number, now: Date, changeSeq: number): Promise<MessageRecord | null> {
    if (!TenantRepository.isObjectId(parentId)) return Promise.resolve(null);
    const _id = new Types.ObjectId(parentId);
    return this.locked(parentId, async () =>
      this.findOneAndUpdate(
        { _id, conversation_id: conversationId },
        mergeUpdates({ $inc: { 'thread.reply_count': by }, $set: { updated_at: now }, $max: { change_seq: changeSeq } }, await this.traceUpdate(_id, replyCountTrace(conversationId, parentId, by, now))),
      ),
    ) as Promise<MessageRecord | null>;
  }

  /**
   * Read receipts on messages in (fromSeq, toSeq] written by others: adds the reader to read_by (once)
   * and moves status to read. Conditional on the reader not being there yet, so repeats are no-ops.
   */
  async markReadRange(conversationId: string, readerId: string, fromSeq: number, toSeq: number, at: Date, withReadBy: boolean): Promise<number> {
    const base = { conversation_id: conversationId, seq: { $gt: fromSeq, $lte: toSeq }, sender_id: { $ne: readerId }, deleted_at: null };
    if (withReadBy) {
      return this.updateEach({ ...base, $nor: [{ 'read_by.user_id': readerId }] }, { $push: { read_by: { user_id: readerId, read_at: at } }, $set: { status: 'read' } });
    }
    return this.updateEach({ ...base, status: { $in: ['sent', 'delivered'] } }, { $set: { status: 'read' } });
  }

  /** Delivery receipts: status sent -> delivered on others' messages up to toSeq. */
  async markDeliveredRange(conversationId: string, userId: string, fromSeq: number, toSeq: number): Promise<number> {
    return this.updateEach(
      { conversation_id: conversationId, seq: { $gt: fromSeq, $lte: toSeq }, sender_id: { $ne: userId }, status: 'sent' },
      { $set: { status: 'delivered' } },
    );
  }

  /** Fills a reserved seq whose message could not be stored, so readers never wait on a hole. */
  async insertGap(conversationId: string, seq: number, senderId: string, now: Date): Promise<boolean> {
    return (await this.insertGaps(conversationId, [seq], senderId, now)) === 1;
  }

  /** Gap tombstones for these seqs in one insert; returns how many were stored (a taken seq is skipped). */
  async insertGaps(conversationId: string, seqs: number[], senderId: string, now: Date): Promise<number> {
    if (!seqs.length) return 0;
    const outcomes = await this.insertBatch(
      seqs.map((seq) => ({
        _id: unguessableObjectId(),
        conversation_id: conversationId,
        seq,
        sender_id: senderId,
        // The {conversation_id, seq} unique index lets one document only take the seq: the late message,
        // the batcher's filler or a reader's filler for an abandoned seq (readers racing each other too).
        client_msg_id: `gap:${conversationId}:${seq}`,
        content: null,
        preview: null,
        search_tokens: [],
        mentions: [],
        reactions: [],
        thread: { parent_id: null, reply_count: 0 },
        read_by: [],
        status: 'deleted' as const,
        gap: true,
        created_at: now,
        updated_at: now,
        edited_at: null,
        deleted_at: now,
        change_seq: 0,
      })),
    );
    return outcomes.filter((o) => o.ok).length;
  }
}

function toError(e: unknown): Error {
  if (e instanceof Error) return e;
  const msg = (e as { errmsg?: string })?.errmsg ?? (e as { err?: { errmsg?: string } })?.err?.errmsg ?? 'write failed';
  return Object.assign(new Error(msg), { code: (e as { code?: number })?.code });
}
