import { Logger } from '@nestjs/common';
import { Types } from 'mongoose';
import { AppError, ErrorCode, promiseTry } from '@chat/errors';
import { TenantContext, TenantId, unguessableObjectId } from '@chat/tenancy';
import type { MessageBatchStore, MessageBatcherOptions, MessageCommitStep, MessageDraft, SendOutcome } from './message-batch-contract';
import { batchSeconds, batchSize, messagesIn, queueDepth, stageClock, writeStageSeconds } from './message-batch-metrics';
import { ClientMsgKey, messageIdFor } from './message-id';
import type { MessageRecord } from './message.schema';
import type { InsertOutcome, NewMessage } from './messages.repository';

const clientKeyOf = (k: ClientMsgKey) => `${k.conversation_id}\u0000${k.sender_id}\u0000${k.client_msg_id}`;

interface Item {
  tenantId: TenantId;
  draft: MessageDraft;
  /** The client chose client_msg_id, so it may be a retry: look for the original before reserving a seq. */
  lookup: boolean;
  /** With `lookup`: the _id the client_msg_id fixes (messageIdFor), computed once for the claim and the insert. */
  derivedId?: Types.ObjectId;
  /** The claim the send's socket gate made for its id (send-claims: gateSendClaim), if any. */
  claimed?: { messageId: string; won: boolean } | null;
  resolve: (o: SendOutcome) => void;
  reject: (e: unknown) => void;
  /** performance.now() at submit, for the wait stage. */
  queuedAt: number;
  seq?: number;
  doc?: NewMessage;
  outcome?: SendOutcome;
  error?: unknown;
  /** Its seq was already taken by another document: to retry with a fresh seq. */
  seqTaken?: boolean;
}

/** Fresh seqs tried for a message whose seq was taken, before it is answered 503 (each after raising the counter). */
const SEQ_TAKEN_RETRIES = 3;

/**
 * Batches of one conversation in flight at once. Two: the next batch stores while the one before it is
 * still being stored, so a send does not wait out the previous batch's insert (under a store stall it
 * waited for two inserts one after the other: the group scenario's ack tail); more add holes and
 * shrink batches under load without shortening that wait further.
 */
const PIPELINE_DEPTH = 2;

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** One batch's place in a conversation's order: released once its seqs are reserved, and once its commit step is done. */
interface Turn {
  reserved: Deferred;
  committed: Deferred;
}

/** A conversation with batches in flight: how many, and the newest one's turn (what the next batch waits for). */
interface Lane {
  batches: number;
  last: Turn;
}

/** A batch's turns by conversation key (convKey): its own, and the batch before it in that conversation, if still in flight. */
type Turns = Map<string, { own: Turn; previous: Turn | undefined }>;

const convKey = (i: Item) => `${i.tenantId}\u0000${i.draft.conversation_id}`;
const dedupeKey = (i: Item) => `${i.tenantId}\u0000${clientKeyOf(i.draft)}`;

/**
 * Group commit for messages. Sends are collected for `windowMs`; a batch then takes one reservation per
 * conversation for a block of seqs (the seq counter) and one bulk insert for all its messages, and
 * answers each sender only after the write is acknowledged. Batches for different conversations run
 * concurrently, and up to PIPELINE_DEPTH batches of one conversation: a conversation's batches reserve
 * their seqs in the order they were taken and run their commit steps (events) in that order, but their
 * inserts overlap, so a later block may be stored before an earlier one (readers see a pending hole
 * meanwhile, as with two nodes: MessageStream, RecentMessagesCache). A send whose client_msg_id is in a
 * batch in flight waits for it (it is its duplicate). A reserved seq whose message could not be stored
 * (duplicate client_msg_id raced from another node, write failure) is filled with a gap tombstone.
 */
export class MessageWriteBatcher {
  private readonly logger = new Logger('MessageWriteBatcher');
  private queue: Item[] = [];
  private readonly lanes = new Map<string, Lane>();
  /** dedupeKey of every send in a batch in flight. */
  private readonly inFlightKeys = new Set<string>();
  private running = 0;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly store: MessageBatchStore,
    private readonly opts: MessageBatcherOptions,
    private readonly commitStep: MessageCommitStep,
  ) {}

  get queueDepth(): number {
    return this.queue.length;
  }

  /** Throws 503 once draining: callers check before doing any work for a send. */
  assertAccepting(): void {
    if (this.closed) throw shuttingDown();
  }

  submit(tenantId: TenantId, draft: MessageDraft, opts: { lookupExisting?: boolean; claimed?: { messageId: string; won: boolean } | null } = {}): Promise<SendOutcome> {
    if (this.closed) return Promise.reject(shuttingDown());
    if (this.queue.length >= this.opts.queueMax) {
      messagesIn.inc({ result: 'overloaded' });
      return Promise.reject(AppError.rateLimited(1, 'The message write queue is full: retry shortly', ErrorCode.ServiceUnavailable));
    }
    return new Promise<SendOutcome>((resolve, reject) => {
      this.queue.push({ tenantId, draft, lookup: opts.lookupExisting ?? true, claimed: opts.claimed, resolve, reject, queuedAt: performance.now() });
      queueDepth.set(this.queue.length);
      this.schedule();
    });
  }

  /** Stops accepting sends and waits (bounded) for queued and running batches to finish. */
  async drain(timeoutMs = 10_000): Promise<void> {
    this.closed = true;
    if (this.queue.length === 0 && this.running === 0) return;
    this.kick();
    await Promise.race([
      new Promise<void>((r) => this.idleWaiters.push(r)),
      new Promise<void>((r) => setTimeout(r, timeoutMs).unref()),
    ]);
  }

  private schedule(): void {
    if (this.running >= this.opts.concurrency) return; // a finishing batch reschedules
    if (this.queue.length >= this.opts.maxBatch || this.closed) return this.kick();
    if (this.timer || this.immediate) return;
    if (this.opts.windowMs <= 0) {
      this.immediate = setImmediate(() => {
        this.immediate = null;
        this.startBatches();
      });
    } else {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.startBatches();
      }, this.opts.windowMs);
    }
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    this.startBatches();
  }

  private startBatches(): void {
    while (this.running < this.opts.concurrency) {
      const batch = this.take();
      if (!batch.length) break;
      this.running++;
      const turns = this.enter(batch);
      void this.write(batch, turns).finally(() => {
        this.running--;
        this.leave(batch, turns);
        queueDepth.set(this.queue.length);
        if (this.queue.length) this.schedule();
        else if (this.running === 0) this.idleWaiters.splice(0).forEach((r) => r());
      });
    }
  }

  /**
   * Up to maxBatch queued items whose conversation has fewer than PIPELINE_DEPTH batches in flight and
   * whose client_msg_id is not in one (the others stay queued, in order).
   */
  private take(): Item[] {
    const batch: Item[] = [];
    const rest: Item[] = [];
    for (const item of this.queue) {
      const free = batch.length < this.opts.maxBatch && (this.lanes.get(convKey(item))?.batches ?? 0) < PIPELINE_DEPTH && !this.inFlightKeys.has(dedupeKey(item));
      if (free) batch.push(item);
      else rest.push(item);
    }
    this.queue = rest;
    queueDepth.set(rest.length);
    return batch;
  }

  /** The batch takes its turn in each of its conversations, after the batch before it there (if any). */
  private enter(batch: Item[]): Turns {
    const turns: Turns = new Map();
    for (const item of batch) {
      this.inFlightKeys.add(dedupeKey(item));
      const k = convKey(item);
      if (turns.has(k)) continue;
      const own: Turn = { reserved: deferred(), committed: deferred() };
      const lane = this.lanes.get(k);
      turns.set(k, { own, previous: lane?.last });
      if (lane) {
        lane.batches++;
        lane.last = own;
      } else this.lanes.set(k, { batches: 1, last: own });
    }
    return turns;
  }

  /** The batch is over: its turns are released (whatever happened in it) and its conversations freed. */
  private leave(batch: Item[], turns: Turns): void {
    for (const item of batch) this.inFlightKeys.delete(dedupeKey(item));
    for (const [k, { own }] of turns) {
      own.reserved.resolve();
      own.committed.resolve();
      const lane = this.lanes.get(k)!;
      if (--lane.batches === 0) this.lanes.delete(k);
    }
  }

  private async write(batch: Item[], turns: Turns): Promise<void> {
    const t0 = performance.now();
    batchSize.observe(batch.length);
    const wait = writeStageSeconds.labels('wait');
    for (const item of batch) wait.observe((t0 - item.queuedAt) / 1000);
    // A client_msg_id repeated inside one batch is written once; the repeats get the same message.
    const leaders = new Map<string, Item>();
    const followers: Array<[Item, Item]> = [];
    for (const item of batch) {
      const k = dedupeKey(item);
      const leader = leaders.get(k);
      if (leader) followers.push([item, leader]);
      else leaders.set(k, item);
    }
    const byTenant = new Map<TenantId, Item[]>();
    for (const item of leaders.values()) {
      const list = byTenant.get(item.tenantId) ?? [];
      list.push(item);
      byTenant.set(item.tenantId, list);
    }
    await Promise.all(
      [...byTenant].map(([tenantId, items]) =>
        TenantContext.run({ tenantId, actor: { type: 'system', id: 'message-batcher' } }, () => this.writeTenant(tenantId, items, turns)).catch((err) => {
          for (const it of items) if (!it.outcome && !it.error) it.error = err;
        }),
      ),
    );
    batchSeconds.observe((performance.now() - t0) / 1000);
    for (const item of leaders.values()) settle(item);
    for (const [item, leader] of followers) {
      if (leader.outcome) item.outcome = { message: leader.outcome.message, duplicate: true };
      else item.error = leader.error;
      settle(item);
    }
  }

  private async writeTenant(tenantId: TenantId, all: Item[], turns: Turns): Promise<void> {
    const lap = stageClock();
    // Retries are answered from what is stored, with one query for the whole batch and no seq spent.
    let candidates = all.filter((i) => i.lookup);
    for (const i of candidates) i.derivedId = messageIdFor(tenantId, i.draft);
    // A socket send claimed its id at the gate (one script with its charges): it won, no lookup; it
    // lost, looked up. The others claim here.
    const claimedAtGate = (i: Item) => i.claimed != null && i.claimed.messageId === i.derivedId!.toHexString();
    let unclaimed = candidates.filter((i) => !claimedAtGate(i));
    candidates = candidates.filter((i) => claimedAtGate(i) && !i.claimed!.won);
    if (unclaimed.length && this.store.claimFirstSends) {
      // First attempts (most sends) need no lookup: Redis remembers which ids were already sent.
      const first = await this.store.claimFirstSends(unclaimed.map((i) => i.derivedId!.toHexString())).catch(() => null);
      if (first) unclaimed = unclaimed.filter((_, k) => !first[k]);
    }
    candidates.push(...unclaimed);
    if (candidates.length) {
      const stored = await this.store.findByClientMsgIds(candidates.map((i) => i.draft));
      const byKey = new Map(stored.map((m) => [clientKeyOf(m), m]));
      for (const i of candidates) {
        const original = byKey.get(clientKeyOf(i.draft));
        if (original) i.outcome = { message: original, duplicate: true };
      }
    }
    lap('claim');
    const items = all.filter((i) => !i.outcome);
    // After the batch before it in each conversation: seqs in the order the sends were taken.
    const before = previousTurns(turns, all, (t) => t.reserved);
    if (before) await before;
    await this.reserve(items);
    for (const it of all) turns.get(convKey(it))!.own.reserved.resolve();
    lap('reserve');
    const writable = items.filter((it) => it.seq !== undefined);
    if (!writable.length) return;
    await this.insert(tenantId, writable);
    // A seq already taken (a counter seeded below seqs in flight, a reader that filled a slow write's
    // seq as abandoned): the message takes a fresh seq above everything stored; its old seq holds the
    // other document. Never two messages with one seq: the unique (conversation, seq) index decides.
    for (let attempt = 1; attempt <= SEQ_TAKEN_RETRIES && this.store.raiseSeqsAbove; attempt++) {
      const taken = writable.filter((it) => it.seqTaken);
      if (!taken.length) break;
      const conversations = [...groupBy(taken, (i) => i.draft.conversation_id).keys()];
      await Promise.all(conversations.map((c) => this.store.raiseSeqsAbove!(c).catch(() => undefined)));
      for (const it of taken) it.seqTaken = false;
      await this.reserve(taken);
      const again = taken.filter((it) => !it.error);
      if (again.length) await this.insert(tenantId, again);
    }
    for (const it of writable.filter((i) => i.seqTaken)) {
      this.logger.error(`seq ${it.seq} of conversation ${it.draft.conversation_id} still taken after ${SEQ_TAKEN_RETRIES} fresh seqs`);
      it.error = new AppError(ErrorCode.ServiceUnavailable, 'The message could not be stored: retry with the same client_msg_id');
    }

    // Every reserved seq must end up holding a document, or readers would wait on a hole.
    const now = new Date();
    const holes = writable.filter((it) => !it.outcome || it.outcome.duplicate);
    // (Usually none: no promise is made then; on Node 20 each runs AsyncLocalStorage's hooks.)
    if (holes.length) {
      await Promise.all(
        holes.map((it) =>
          this.store.insertGap(it.draft.conversation_id, it.seq!, it.draft.sender_id, now).catch((err) => {
            this.logger.error(`could not fill seq ${it.seq} of conversation ${it.draft.conversation_id}: ${(err as Error).message}`);
            return false;
          }),
        ),
      );
    }

    lap('insert');
    const stored = writable.filter((it) => it.outcome && !it.outcome.duplicate);
    // Events in seq order: after the commit step of the batch before it in each conversation.
    const earlier = previousTurns(turns, stored, (t) => t.committed);
    if (earlier) await earlier;
    const committed = groupBy(stored, (i) => i.draft.conversation_id);
    await Promise.all(
      [...committed].map(([conversationId, list]) =>
        this.commitStep
          .commit(tenantId, conversationId, list.map((it) => it.outcome!.message))
          .catch((err) => {
            // The messages are durable; a failed follow-up (counters, events) must not fail the send.
            this.logger.error(`post-commit for conversation ${conversationId} failed: ${(err as Error).message}`);
          })
          .then(() => turns.get(convKey(list[0]!))!.own.committed.resolve()),
      ),
    );
    lap('commit');
  }

  /** One block of seqs per conversation for these items (it.seq), or it.error. */
  private async reserve(items: Item[]): Promise<void> {
    // One then per conversation, not an async function's two promises (AsyncLocalStorage's hooks run per promise).
    await Promise.all(
      [...groupBy(items, (i) => i.draft.conversation_id)].map(([conversationId, convItems]) =>
        promiseTry(() => this.store.reserveSeqs(conversationId, convItems.length)).then(
          (first) => convItems.forEach((it, i) => (it.seq = first + i)),
          (err: unknown) => {
            for (const it of convItems) it.error = err;
          },
        ),
      ),
    );
  }

  /** Inserts the items with their seqs: it.outcome, it.error, or it.seqTaken. */
  private async insert(tenantId: TenantId, writable: Item[]): Promise<void> {
    // A client-chosen client_msg_id fixes the _id, so a retry collides on _id and is found by it.
    for (const it of writable) it.doc = { ...it.draft, _id: it.derivedId ?? unguessableObjectId(), seq: it.seq! };
    let outcomes: InsertOutcome[];
    try {
      outcomes = await this.store.insertBatch(writable.map((it) => it.doc!));
    } catch (err) {
      outcomes = writable.map(() => ({ ok: false as const, duplicateKey: false, error: err as Error }));
    }
    const duplicates: Item[] = [];
    writable.forEach((it, i) => {
      const o = outcomes[i]!;
      if (o.ok) it.outcome = { message: { ...it.doc!, tenant_id: tenantId }, duplicate: false };
      else if (o.duplicateKey) duplicates.push(it);
      else {
        this.logger.error(`message insert failed (conversation ${it.draft.conversation_id}, seq ${it.seq}): ${o.error.message}`);
        it.error = new AppError(ErrorCode.ServiceUnavailable, 'The message could not be stored: retry with the same client_msg_id');
      }
    });
    if (duplicates.length) await this.resolveDuplicates(duplicates);
  }

  /** A duplicate-key failure: the same client_msg_id was stored by an earlier send (or another node). */
  private async resolveDuplicates(items: Item[]): Promise<void> {
    let originals: MessageRecord[] = [];
    try {
      originals = await this.store.findByClientMsgIds(items.map((i) => i.draft));
      const found = new Set(originals.map(clientKeyOf));
      const unexplained = items.filter((i) => !found.has(clientKeyOf(i.draft)));
      // Messages stored before ids were derived from client_msg_id are only found by their fields.
      if (unexplained.length) originals = originals.concat(await this.store.findByClientMsgFields(unexplained.map((i) => i.draft)));
    } catch (err) {
      this.logger.error(`duplicate lookup failed: ${(err as Error).message}`);
    }
    const byKey = new Map(originals.map((m) => [clientKeyOf(m), m]));
    for (const it of items) {
      const original = byKey.get(clientKeyOf(it.draft));
      if (original && original._id.equals(it.doc!._id) && original.seq === it.seq) {
        // This very write is stored (a retried insert reported it as a duplicate): it is this send's message.
        it.outcome = { message: original, duplicate: false };
      } else if (original) {
        // An earlier send of the same client_msg_id: with a derived _id it collided on the _id itself.
        it.outcome = { message: original, duplicate: true };
      } else {
        // The seq itself collided: a reader filled it as abandoned (this write took longer than
        // MESSAGE_GAP_GRACE_MS, see MessageStream), or the seq counter is behind its messages. The
        // caller retries it with a fresh seq.
        this.logger.warn(`seq ${it.seq} of conversation ${it.draft.conversation_id} already taken: retrying with a fresh seq`);
        it.seqTaken = true;
      }
    }
  }
}

/** Observes the time since the previous lap (or the start) as `stage`. */

function settle(item: Item): void {
  if (item.outcome) {
    messagesIn.inc({ result: item.outcome.duplicate ? 'duplicate' : 'stored' });
    item.resolve(item.outcome);
  } else {
    messagesIn.inc({ result: 'failed' });
    item.reject(item.error ?? new AppError(ErrorCode.Internal, 'Message not stored'));
  }
}

/**
 * What the items' conversations wait for from the batch before this one in each (its seqs reserved, or
 * its commit step done); null when none is in flight, the usual case (no promise made then).
 */
function previousTurns(turns: Turns, items: Item[], step: (t: Turn) => Deferred): Promise<unknown> | null {
  let waits: Array<Promise<void>> | null = null;
  const seen = new Set<string>();
  for (const it of items) {
    const k = convKey(it);
    if (seen.has(k)) continue;
    seen.add(k);
    const previous = turns.get(k)?.previous;
    if (previous) (waits ??= []).push(step(previous).promise);
  }
  return waits && Promise.all(waits);
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}

function shuttingDown(): AppError {
  return new AppError(ErrorCode.ServiceUnavailable, 'Shutting down: retry the send on another node');
}
