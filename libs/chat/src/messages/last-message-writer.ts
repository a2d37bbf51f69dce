import { Injectable, Logger, Optional } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { TenantContext, TenantId } from '@chat/tenancy';
import type { LastMessageDoc } from '../conversations/conversation.schema';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { PendingConversationWrites } from '../conversations/pending-conversation-writes';
import { writeStageSeconds } from './message-batch-metrics';

interface Slot {
  key: string;
  tenantId: TenantId;
  conversationId: string;
  /** The newest value not yet taken by a write (highest seq), and the highest committed seq with it. */
  next: LastMessageDoc | null;
  nextSeq: number;
  /** Settles when the write taking `next` has been attempted (what reads of the conversation wait for). */
  nextDone: { promise: Promise<void>; resolve: () => void } | null;
  /** Consecutive failed attempts. */
  failures: number;
  /** Its write is in a flush, or it waits for its retry: the next flush leaves it alone. */
  busy: boolean;
}

/** A slot's value taken by a flush. */
interface Taken {
  slot: Slot;
  value: LastMessageDoc | null;
  seq: number;
  done: { resolve: () => void } | null;
}

/** Adds a value to what the slot's next write takes: the newer last_message (by seq), the higher seq. */
function offer(slot: Slot, last: LastMessageDoc | null, lastSeq: number): void {
  if (last && (!slot.next || slot.next.seq < last.seq)) slot.next = last;
  slot.nextSeq = Math.max(slot.nextSeq, lastSeq);
}

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

/**
 * Writes conversations' `last_message` and activity time after the batch's senders are answered
 * (docs/life-of-a-message.md, step 5), many conversations per database command: a flush takes every
 * conversation with a value waiting and writes them together (ConversationsRepository.setLastMessages:
 * one command per tenant; on FerretDB their document leases in one Redis round trip); values committed
 * during a flush wait for the next one, which starts when it ends and at least `windowMs` after it
 * started. So the writes batch by themselves, more under load, and a conversation is written by one
 * flush at a time per process
 * (the update only moves forward by seq, so a later value replacing a waiting one loses nothing).
 *
 * A failed write is retried (0.2 s doubling, 8 times, ~50 s in all) with the newest value, alone in
 * its command (one failing statement does not fail the others' again): the messages are durable, only
 * the conversation's summary lags. Reads of the conversation on this process wait for the pending
 * write (PendingConversationWrites). A crash before the write leaves last_message at an earlier
 * message until the conversation's next send.
 */
@Injectable()
export class LastMessageWriter {
  private readonly logger = new Logger('LastMessageWriter');
  private readonly slots = new Map<string, Slot>();
  /** Slots with a value waiting and not busy: what the next flush takes. */
  private readonly ready = new Set<Slot>();
  private flushing = false;
  private idleWaiters: Array<() => void> = [];
  /** Retries of a failed write and the delay before the first (doubling). Tests shorten the delay. */
  retry = { attempts: 8, firstDelayMs: 200 };
  /**
   * Least time between the starts of two flushes (LAST_MESSAGE_WINDOW_MS). At low rates a flush ends
   * before the next commit comes, so without it every commit would be a command of its own; with it
   * the commits of a window go in one, while the first after a quiet spell is written at once.
   */
  readonly windowMs: number;
  private lastFlushAt = -Infinity;

  constructor(
    private readonly conversations: ConversationsRepository,
    private readonly pending: PendingConversationWrites,
    @Optional() config?: AppConfig,
  ) {
    this.windowMs = config?.LAST_MESSAGE_WINDOW_MS ?? 0;
  }

  /** Conversations with a write running or waiting. */
  get size(): number {
    return this.slots.size;
  }

  /** Schedules the write of `last` (returns at once; reads of the conversation on this process wait for it). */
  write(tenantId: TenantId, conversationId: string, last: LastMessageDoc | null, lastSeq: number): void {
    const key = `${tenantId}\u0000${conversationId}`;
    let slot = this.slots.get(key);
    if (!slot) this.slots.set(key, (slot = { key, tenantId, conversationId, next: null, nextSeq: 0, nextDone: null, failures: 0, busy: false }));
    offer(slot, last, lastSeq);
    if (!slot.nextDone) {
      slot.nextDone = deferred();
      this.pending.hold(tenantId, conversationId, slot.nextDone.promise);
    }
    if (!slot.busy) this.ready.add(slot);
    this.flushSoon();
  }

  /** Waits (bounded) until every scheduled write is made or given up: after the batcher's drain at shutdown. */
  async drain(timeoutMs = 10_000): Promise<void> {
    if (!this.slots.size) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((r) => this.idleWaiters.push(r)),
      new Promise<void>((r) => (timer = setTimeout(r, timeoutMs).unref())),
    ]);
    clearTimeout(timer);
    if (this.slots.size) this.logger.warn(`shutdown: last_message of ${this.slots.size} conversation(s) not written within ${timeoutMs} ms`);
  }

  /**
   * Starts a flush unless one runs or is due; another follows while anything is ready. A flush starts
   * `windowMs` after the previous one started; else the next one at once, and the first after a quiet
   * spell at the end of the event-loop turn (setImmediate), so the commits of one turn go together.
   * Not the webhooks' CoalescedFlush: that one opens its window when work arrives and again after each
   * flush (work waits the whole window unless enough is waiting); here the window only spaces the starts.
   */
  private flushSoon(afterFlush = false): void {
    if (this.flushing || !this.ready.size) return;
    this.flushing = true;
    const run = () => {
      this.lastFlushAt = performance.now();
      void this.flush().finally(() => {
        this.flushing = false;
        this.flushSoon(true);
      });
    };
    const wait = this.lastFlushAt + this.windowMs - performance.now();
    if (wait > 0) setTimeout(run, wait);
    else if (afterFlush) run();
    else setImmediate(run);
  }

  /** Takes everything ready and writes it: one command per tenant, and one per conversation retrying a failure. */
  private async flush(): Promise<void> {
    const groups = new Map<unknown, Taken[]>();
    for (const slot of this.ready) {
      const taken: Taken = { slot, value: slot.next, seq: slot.nextSeq, done: slot.nextDone };
      slot.next = null;
      slot.nextSeq = 0;
      slot.nextDone = null;
      slot.busy = true;
      const group = slot.failures ? slot : slot.tenantId;
      const list = groups.get(group);
      if (list) list.push(taken);
      else groups.set(group, [taken]);
    }
    this.ready.clear();
    await Promise.all([...groups.values()].map((group) => this.send(group)));
  }

  private async send(group: Taken[]): Promise<void> {
    const t0 = performance.now();
    let outcomes: PromiseSettledResult<void>[];
    try {
      outcomes = await TenantContext.run({ tenantId: group[0]!.slot.tenantId, actor: { type: 'system', id: 'last-message-writer' } }, () =>
        this.conversations.setLastMessages(group.map((t) => ({ conversationId: t.slot.conversationId, last: t.value, lastSeq: t.seq }))),
      );
      writeStageSeconds.observe({ stage: 'last_message' }, (performance.now() - t0) / 1000);
    } catch (reason) {
      outcomes = group.map(() => ({ status: 'rejected', reason }));
    }
    group.forEach((taken, i) => this.settle(taken, outcomes[i]!));
  }

  private settle({ slot, value, seq, done }: Taken, outcome: PromiseSettledResult<void>): void {
    if (outcome.status === 'fulfilled') slot.failures = 0;
    else {
      const what = `last_message of conversation ${slot.conversationId}`;
      const reason = (outcome.reason as Error)?.message ?? String(outcome.reason);
      if (++slot.failures > this.retry.attempts) {
        this.logger.error(`${what}: giving up after ${this.retry.attempts} retries (${reason})`);
        slot.failures = 0;
      } else {
        this.logger.warn(`${what} failed (${reason}); retry ${slot.failures}/${this.retry.attempts}`);
        // Retried with the newest value; reads waiting for this attempt go on and show what is stored.
        offer(slot, value, seq);
      }
    }
    done?.resolve();
    if (slot.failures) setTimeout(() => this.free(slot), this.retry.firstDelayMs * 2 ** (slot.failures - 1)).unref();
    else this.free(slot);
  }

  /** The slot's write is over: the next flush takes its waiting value, if any; else it is gone. */
  private free(slot: Slot): void {
    slot.busy = false;
    if (slot.nextSeq) {
      this.ready.add(slot);
      this.flushSoon();
      return;
    }
    this.slots.delete(slot.key);
    if (!this.slots.size) this.idleWaiters.splice(0).forEach((r) => r());
  }
}
