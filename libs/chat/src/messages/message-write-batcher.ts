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

const convKey = (i: Item) => `${i.tenantId}\u0000${i.draft.conversation_id}`;
const dedupeKey = (i: Item) => `${i.tenantId}\u0000${clientKeyOf(i.draft)}`;

/**
 * Group commit for messages. Sends are collected for `windowMs`; a batch then takes one reservation per
 * conversation for a block of seqs (the seq counter) and one bulk insert for all its messages, and
 * answers each sender only after the write is acknowledged. Batches for different conversations run
 * concurrently; a conversation is never in two batches at once, so seqs are stored in the order they
 * were reserved on this node. A reserved seq whose message could not be stored (duplicate
 * client_msg_id raced from another node, write failure) is filled with a gap tombstone.
 */
export class MessageWriteBatcher {
  private readonly logger = new Logger('MessageWriteBatcher');
  private queue: Item[] = [];
  private readonly inFlight = new Set<string>();
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
      const keys = new Set(batch.map(convKey));
      keys.forEach((k) => this.inFlight.add(k));
      void this.write(batch).finally(() => {
        this.running--;
        keys.forEach((k) => this.inFlight.delete(k));
        queueDepth.set(this.queue.length);
        if (this.queue.length) this.schedule();
        else if (this.running === 0) this.idleWaiters.splice(0).forEach((r) => r());
      });
    }
  }

  /** Up to maxBatch queued items whose conversation is not being written by another batch. */
  private take(): Item[] {
    const batch: Item[] = [];
    const rest: Item[] = [];
    for (const item of this.queue) {
      if (batch.length < this.opts.maxBatch && !this.inFlight.has(convKey(item))) batch.push(item);
      else rest.push(item);
    }
    // Conversations that are in flight are skipped, so the same conversation never spans two batches at once.
    this.queue = rest;
    queueDepth.set(rest.length);
    return batch;
  }

  private async write(batch: Item[]): Promise<void> {
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
        TenantContext.run({ tenantId, actor: { type: 'system', id: 'message-batcher' } }, () => this.writeTenant(tenantId, items)).catch((err) => {
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

  private async writeTenant(tenantId: TenantId, all: Item[]): Promise<void> {
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
    await this.reserve(items);
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
    const committed = groupBy(
      writable.filter((it) => it.outcome && !it.outcome.duplicate),
      (i) => i.draft.conversation_id,
    );
    await Promise.all(
      [...committed].map(([conversationId, list]) =>
        this.commitStep.commit(tenantId, conversationId, list.map((it) => it.outcome!.message)).catch((err) => {
          // The messages are durable; a failed follow-up (counters, events) must not fail the send.
          this.logger.error(`post-commit for conversation ${conversationId} failed: ${(err as Error).message}`);
        }),
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
