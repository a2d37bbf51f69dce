import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Types } from 'mongoose';
import type { AnyBulkWriteOperation, FilterQuery, Model, UpdateQuery } from 'mongoose';
import { TenantConnectionResolver, TenantRepository, unguessableObjectId, WithId } from '@chat/tenancy';
import { DocumentLock, EventTrace, isDuplicateKeyError, mergeUpdates, StoreDialect } from '@chat/database';
import type { ConversationType } from '@chat/contracts';
import { CONVERSATION_MODEL, ConversationDoc, LastMessageDoc, MemberChangeDoc, ParticipantDoc } from './conversation.schema';

export type ConversationRecord = WithId<ConversationDoc>;

/** One conversation's summary write (LastMessageWriter): last_message when there is one, and last_seq moved to at least `lastSeq`. */
export interface LastMessageWrite {
  conversationId: string;
  last: LastMessageDoc | null;
  lastSeq: number;
}

export interface ListCursor {
  updatedAt: Date;
  id: string;
}

const GUARDED_ATTEMPTS = 8;

/**
 * Conversations. The hot-path methods used by the messages write path (setLastMessage, markRead,
 * markDelivered; reserveSeqs when the seq counter is unavailable, see ConversationSeqs) are
 * single-document atomic updates and never read-modify-write the participants array.
 */
@Injectable()
export class ConversationsRepository extends TenantRepository<ConversationDoc> {
  /** Every update of a conversation goes through here (StoreDialect: serialised on FerretDB). */
  private readonly locked: DocumentLock;

  constructor(
    @InjectModel(CONVERSATION_MODEL) model: Model<ConversationDoc>,
    resolver: TenantConnectionResolver,
    private readonly dialect: StoreDialect,
  ) {
    super(model, resolver);
    this.locked = dialect.lockFor(() => `conversations:${this.tenant('lock')}`);
  }

  static isId(id: unknown): id is string {
    return typeof id === 'string' && /^[0-9a-f]{24}$/i.test(id);
  }

  findConversation(id: string, projection?: Record<string, 0 | 1>): Promise<ConversationRecord | null> {
    return this.findById(id, projection);
  }

  findDirect(directKey: string): Promise<ConversationRecord | null> {
    return this.findOne({ direct_key: directKey, type: 'direct' });
  }

  /**
   * Inserts a conversation. For a direct conversation a concurrent creator may win the unique
   * {tenant_id, direct_key}: then the existing one is returned with created=false.
   */
  async create(input: {
    type: ConversationType;
    directKey?: string;
    participants: ParticipantDoc[];
    metadata: ConversationDoc['metadata'];
    createdBy: string | null;
  }): Promise<{ conversation: ConversationRecord; created: boolean }> {
    const _id = unguessableObjectId();
    const now = new Date();
    try {
      const doc = await this.insertOne({
        _id,
        type: input.type,
        direct_key: input.directKey ?? `id:${_id.toHexString()}`,
        participants: input.participants,
        metadata: input.metadata,
        last_seq: 0,
        last_message: null,
        participants_version: 0,
        created_by: input.createdBy,
        created_at: now,
        updated_at: now,
      } as ConversationDoc & { _id: Types.ObjectId });
      return { conversation: doc, created: true };
    } catch (err) {
      if (input.directKey && isDuplicateKeyError(err)) {
        const existing = await this.findDirect(input.directKey);
        if (existing) return { conversation: existing, created: false };
      }
      throw err;
    }
  }

  /** A user's conversations, newest activity first, after the cursor (served by the participants index). */
  listForUser(userId: string, opts: { after?: ListCursor; limit: number; type?: ConversationType }): Promise<ConversationRecord[]> {
    const filter: FilterQuery<ConversationDoc> = { 'participants.user_id': userId };
    if (opts.type) filter.type = opts.type;
    if (opts.after) {
      const id = new Types.ObjectId(opts.after.id);
      filter.$or = [{ updated_at: { $lt: opts.after.updatedAt } }, { updated_at: opts.after.updatedAt, _id: { $lt: id } }];
    }
    return this.find(filter, { sort: { updated_at: -1, _id: -1 }, limit: opts.limit });
  }

  /** Channels of the tenant (the directory users pick channels to join from). */
  listChannels(opts: { after?: ListCursor; limit: number }): Promise<ConversationRecord[]> {
    const filter: FilterQuery<ConversationDoc> = { type: 'channel' };
    if (opts.after) {
      const id = new Types.ObjectId(opts.after.id);
      filter.$or = [{ updated_at: { $lt: opts.after.updatedAt } }, { updated_at: opts.after.updatedAt, _id: { $lt: id } }];
    }
    return this.find(filter, { sort: { updated_at: -1, _id: -1 }, limit: opts.limit, projection: { participants: 0 } });
  }

  /** Ids of the conversations a user is in, in _id order (for cleanup when a user is deleted). */
  async idsForUser(userId: string, opts: { afterId?: string; limit: number }): Promise<string[]> {
    const filter: FilterQuery<ConversationDoc> = { 'participants.user_id': userId };
    if (opts.afterId) filter._id = { $gt: new Types.ObjectId(opts.afterId) };
    const docs = await this.find(filter, { sort: { _id: 1 }, limit: opts.limit, projection: { _id: 1 } });
    return docs.map((d) => String(d._id));
  }

  /**
   * The conversation ids of several users at once, in _id order per user, from one query reading at
   * most `maxDocs` conversations. Null when that many matched (the answer may be cut: ask per user).
   */
  async idsForUsers(userIds: string[], maxDocs: number): Promise<Map<string, string[]> | null> {
    const out = new Map<string, string[]>(userIds.map((u) => [u, []]));
    if (!userIds.length) return out;
    const docs = await this.find({ 'participants.user_id': { $in: userIds } }, { sort: { _id: 1 }, limit: maxDocs, projection: { 'participants.user_id': 1 } });
    if (docs.length >= maxDocs) return null;
    for (const d of docs) {
      for (const p of d.participants ?? []) out.get(p.user_id)?.push(String(d._id));
    }
    return out;
  }

  /**
   * Replaces the participants if nobody touched them since `version` was read (compare-and-set).
   * False when the caller must re-read and retry.
   */
  /** `memberChanges`: the conversation's new membership change log, written in the same update (see MemberChangeDoc). */
  async casParticipants(id: string, version: number, participants: ParticipantDoc[], touch = true, memberChanges?: MemberChangeDoc[]): Promise<boolean> {
    const update: UpdateQuery<ConversationDoc> = { $set: { participants, ...(memberChanges ? { member_changes: memberChanges } : {}) }, $inc: { participants_version: 1 } };
    if (touch) update.$max = { updated_at: new Date() };
    const _id = new Types.ObjectId(id);
    const res = await this.locked(id, () => this.updateOne({ _id, participants_version: version }, update));
    return res.matchedCount > 0;
  }

  /** `trace`: the conversation.updated event, written in the same update (docs/webhooks.md, Durability). */
  async updateMetadata(id: string, metadata: Partial<ConversationDoc['metadata']>, trace?: EventTrace): Promise<boolean> {
    const set: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(metadata)) if (v !== undefined) set[`metadata.${k}`] = v;
    if (!Object.keys(set).length) return true;
    const _id = new Types.ObjectId(id);
    const res = await this.locked(id, async () => {
      const update: UpdateQuery<ConversationDoc> = { $set: set, $max: { updated_at: new Date() } };
      const traced = trace ? mergeUpdates(update, await this.dialect.traceUpdate(trace, async () => (await this.findOne({ _id }, { event_trace: 1 }))?.event_trace)) : update;
      return this.updateOne({ _id }, traced);
    });
    return res.matchedCount > 0;
  }

  /**
   * Atomically reserves `count` consecutive seqs in the database; returns the first. One `$inc` of
   * last_seq: gap-free as long as every reserved seq is written (the messages path writes a tombstone
   * for a failed insert). Only while the seq counter fails (ConversationSeqs). Null when the
   * conversation does not exist.
   */
  async reserveSeqs(conversationId: string, count: number): Promise<number | null> {
    if (!ConversationsRepository.isId(conversationId)) return null;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`reserveSeqs: count must be a positive integer, got ${count}`);
    // Only last_seq comes back on MongoDB (the participants of a big channel are heavy); FerretDB v1
    // rejects findAndModify with a projection, so there the whole document comes back (StoreDialect).
    const doc = await this.locked(conversationId, () =>
      // last_reserved_at dates seqs reserved at the end of the stream (MessageStream: a crash leaves them empty).
      this.findOneAndUpdate(
        { _id: new Types.ObjectId(conversationId) },
        { $inc: { last_seq: count }, $set: { last_reserved_at: new Date() } },
        { new: true, ...this.dialect.findAndModifyProjection({ last_seq: 1 }) },
      ),
    );
    return doc ? doc.last_seq - count + 1 : null;
  }

  /** The highest reserved seq, when seqs were last reserved and the last change position (by _id, three fields). */
  async streamEnd(conversationId: string): Promise<{ last_seq: number; last_reserved_at: Date | null; last_change_seq: number } | null> {
    if (!ConversationsRepository.isId(conversationId)) return null;
    const doc = await this.findConversation(conversationId, { last_seq: 1, last_reserved_at: 1, last_change_seq: 1 });
    return doc ? { last_seq: doc.last_seq ?? 0, last_reserved_at: doc.last_reserved_at ?? null, last_change_seq: doc.last_change_seq ?? 0 } : null;
  }

  /**
   * Takes the conversation's next change position (one atomic $inc of last_change_seq). A message
   * mutation stores it on the message, so sync can return the changes after a client's position.
   * Null when the conversation does not exist.
   */
  async nextChangeSeq(conversationId: string): Promise<number | null> {
    if (!ConversationsRepository.isId(conversationId)) return null;
    const doc = await this.locked(conversationId, () =>
      this.findOneAndUpdate(
        { _id: new Types.ObjectId(conversationId) },
        { $inc: { last_change_seq: 1 } },
        { new: true, ...this.dialect.findAndModifyProjection({ last_change_seq: 1 }) },
      ),
    );
    return doc ? (doc.last_change_seq ?? 1) : null;
  }

  /**
   * Moves last_message forward (only if `seq` is newer than the stored one) and the activity time
   * (updated_at, the list order). Returns whether it moved. `lastSeq`: the highest committed seq of the
   * batch, moved into last_seq (the durable high-water mark of seqs, ConversationSeqs) in the same
   * update, or by raiseLastSeq when last_message does not move (an older batch committed late).
   */
  async setLastMessage(conversationId: string, lastMessage: LastMessageDoc, sentAt: Date = lastMessage.sent_at, lastSeq?: number): Promise<boolean> {
    if (!ConversationsRepository.isId(conversationId)) return false;
    const max: Record<string, unknown> = { updated_at: sentAt };
    if (lastSeq !== undefined) max.last_seq = lastSeq;
    const update = { $set: { last_message: lastMessage }, $max: max };
    const res = await this.locked(conversationId, () =>
      this.updateOne({ _id: new Types.ObjectId(conversationId), $or: [{ last_message: null }, { 'last_message.seq': { $lt: lastMessage.seq } }] }, update),
    );
    if (res.matchedCount === 0 && lastSeq !== undefined) await this.raiseLastSeq(conversationId, lastSeq);
    return res.modifiedCount > 0;
  }

  /**
   * setLastMessage (or raiseLastSeq when `last` is null) for several conversations of the tenant, as
   * few database commands as the store allows (StoreDialect.updateTogether; one conversation per
   * entry). The outcome per entry, in order. Each update only moves forward, so repeating one that
   * was applied (a retry after a failed command) changes nothing.
   */
  async setLastMessages(writes: LastMessageWrite[]): Promise<PromiseSettledResult<void>[]> {
    const byId = new Map(writes.filter((w) => ConversationsRepository.isId(w.conversationId)).map((w) => [w.conversationId, w]));
    const pick = (ids: string[]) => ids.map((id) => byId.get(id)!);
    const outcomes = await this.dialect.updateTogether(this.locked.scope(), [...byId.keys()], {
      many: (ids) => this.writeLastMessages(pick(ids)),
      one: (id) => this.writeLastMessages(pick([id])),
    });
    const byIdOutcome = new Map([...byId.keys()].map((id, i) => [id, outcomes[i]!]));
    return writes.map((w) => byIdOutcome.get(w.conversationId) ?? { status: 'fulfilled', value: undefined });
  }

  /**
   * The statements of setLastMessages, in one bulk write (the caller holds the documents' locks). Uncast
   * (TenantRepository.bulkWrite): every value is already its stored type (LastMessageDoc's fields in
   * the schema's order, Dates, numbers), and Mongoose's casting of the last_message subdocument was
   * most of the CPU of a flush.
   */
  private async writeLastMessages(writes: LastMessageWrite[]): Promise<void> {
    const raise = (w: LastMessageWrite) => ({ updateOne: { filter: { _id: new Types.ObjectId(w.conversationId), last_seq: { $lt: w.lastSeq } }, update: { $max: { last_seq: w.lastSeq } } } });
    const res = await this.bulkWrite(
      writes.map((w) =>
        w.last
          ? {
              updateOne: {
                filter: { _id: new Types.ObjectId(w.conversationId), $or: [{ last_message: null }, { 'last_message.seq': { $lt: w.last.seq } }] },
                update: { $set: { last_message: w.last }, $max: { updated_at: w.last.sent_at, last_seq: w.lastSeq } },
              },
            }
          : raise(w),
      ) as AnyBulkWriteOperation<ConversationDoc>[],
      { uncast: true },
    );
    // Some statement matched nothing: a last_message newer than ours is stored (written by another node) or
    // a bare last_seq raise had nothing to do. Which one is not told, so last_seq is raised for each
    // conversation whose last_message was offered (a no-op where it already moved).
    const moves = writes.filter((w) => w.last);
    if (res.matchedCount < writes.length && moves.length) await this.bulkWrite(moves.map(raise) as AnyBulkWriteOperation<ConversationDoc>[], { uncast: true });
  }

  /** Moves last_seq forward to at least `seq` (never back): seqs committed, or stored above it. */
  async raiseLastSeq(conversationId: string, seq: number): Promise<void> {
    if (!ConversationsRepository.isId(conversationId)) return;
    await this.locked(conversationId, () => this.updateOne({ _id: new Types.ObjectId(conversationId), last_seq: { $lt: seq } }, { $max: { last_seq: seq } }));
  }

  /**
   * Applies a guarded update to one participant: `participants.<i>` addressed by position, guarded by
   * `participants.<i>.user_id`, so a concurrent membership change that moved the entry makes the
   * update miss and we re-read. `build` returns null when nothing needs writing for the current state.
   */
  private async updateParticipant(
    conversationId: string,
    userId: string,
    build: (i: number, doc: ConversationRecord, p: ParticipantDoc) => { filter?: FilterQuery<ConversationDoc>; update: UpdateQuery<ConversationDoc> } | null,
  ): Promise<{ doc: ConversationRecord; index: number; changed: boolean } | null> {
    if (!ConversationsRepository.isId(conversationId)) return null;
    for (let attempt = 0; attempt < GUARDED_ATTEMPTS; attempt++) {
      const doc = await this.findConversation(conversationId);
      if (!doc) return null;
      const i = doc.participants.findIndex((p) => p.user_id === userId);
      if (i < 0) return null;
      const op = build(i, doc, doc.participants[i]);
      if (!op) return { doc, index: i, changed: false };
      const res = await this.locked(conversationId, () =>
        this.updateOne(
          { _id: doc._id, [`participants.${i}.user_id`]: userId, ...(op.filter ?? {}) } as FilterQuery<ConversationDoc>,
          { ...op.update, $inc: { participants_version: 1 } } as UpdateQuery<ConversationDoc>,
        ),
      );
      if (res.matchedCount > 0) return { doc, index: i, changed: true };
      // Either the entry moved (re-read finds it) or a concurrent write already did it (build returns null).
    }
    throw new Error(`participant update on ${conversationId} kept conflicting`);
  }

  /**
   * Moves a participant's read position forward to `seq` (capped at the stream end: last_seq, or
   * `lastSeq` when the seq counter is ahead of it, ConversationSeqs); reading implies delivery, so the
   * delivered position follows. Returns the resulting positions, or null when the user is not a participant.
   */
  async markRead(conversationId: string, userId: string, seq: number, lastSeq = 0): Promise<{ last_read_seq: number; last_delivered_seq: number; changed: boolean } | null> {
    let target = 0;
    const r = await this.updateParticipant(conversationId, userId, (i, doc, p) => {
      target = Math.min(Math.max(0, Math.floor(seq)), Math.max(doc.last_seq, lastSeq));
      if ((p.last_read_seq ?? 0) >= target) return null;
      return {
        filter: { [`participants.${i}.last_read_seq`]: { $lt: target } },
        update: { $set: { [`participants.${i}.last_read_seq`]: target }, $max: { [`participants.${i}.last_delivered_seq`]: target } },
      };
    });
    if (!r) return null;
    const p = r.doc.participants[r.index];
    if (!r.changed) return { last_read_seq: p.last_read_seq ?? 0, last_delivered_seq: p.last_delivered_seq ?? 0, changed: false };
    return { last_read_seq: target, last_delivered_seq: Math.max(target, p.last_delivered_seq ?? 0), changed: true };
  }

  /** Moves a participant's delivered position forward to `seq` (capped as markRead). */
  async markDelivered(conversationId: string, userId: string, seq: number, lastSeq = 0): Promise<{ last_delivered_seq: number; changed: boolean } | null> {
    let target = 0;
    const r = await this.updateParticipant(conversationId, userId, (i, doc, p) => {
      target = Math.min(Math.max(0, Math.floor(seq)), Math.max(doc.last_seq, lastSeq));
      if ((p.last_delivered_seq ?? 0) >= target) return null;
      return {
        filter: { [`participants.${i}.last_delivered_seq`]: { $lt: target } },
        update: { $set: { [`participants.${i}.last_delivered_seq`]: target } },
      };
    });
    if (!r) return null;
    if (!r.changed) return { last_delivered_seq: r.doc.participants[r.index].last_delivered_seq ?? 0, changed: false };
    return { last_delivered_seq: target, changed: true };
  }

  /** Per-participant settings (muted, pinned). Null when the user is not a participant. */
  async updateParticipantSettings(conversationId: string, userId: string, settings: { muted?: boolean; pinned?: boolean }): Promise<ConversationRecord | null> {
    const r = await this.updateParticipant(conversationId, userId, (i, _doc, p) => {
      const set: Record<string, boolean> = {};
      if (settings.muted !== undefined && settings.muted !== p.settings?.muted) set[`participants.${i}.settings.muted`] = settings.muted;
      if (settings.pinned !== undefined && settings.pinned !== p.settings?.pinned) set[`participants.${i}.settings.pinned`] = settings.pinned;
      return Object.keys(set).length ? { update: { $set: set } } : null;
    });
    if (!r) return null;
    return r.changed ? this.findConversation(conversationId) : r.doc;
  }
}
