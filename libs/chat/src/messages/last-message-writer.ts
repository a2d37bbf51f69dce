import { Injectable, Logger } from '@nestjs/common';
import { TenantContext, TenantId } from '@chat/tenancy';
import type { LastMessageDoc } from '../conversations/conversation.schema';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { PendingConversationWrites } from '../conversations/pending-conversation-writes';
import { writeStageSeconds } from './message-write-batcher';

interface Slot {
  tenantId: TenantId;
  conversationId: string;
  /** The newest value not yet taken by a write (highest seq), and the highest committed seq with it. */
  next: LastMessageDoc | null;
  nextSeq: number;
  /** Settles when the write taking `next` has been attempted (what reads of the conversation wait for). */
  nextDone: { promise: Promise<void>; resolve: () => void } | null;
  /** Consecutive failed attempts. */
  failures: number;
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
 * Writes a conversation's `last_message` and activity time after the batch's senders are answered
 * (docs/life-of-a-message.md, step 5): one write per conversation in flight per process; a batch
 * committed meanwhile only replaces the value waiting for the next write (the update moves forward by
 * seq only, so skipping an older value loses nothing), so at high rates the writes coalesce.
 *
 * A failed write is retried (0.2 s doubling, 8 times, ~50 s in all) with the newest value: the
 * messages are durable, only the conversation's summary lags. Reads of the conversation on this
 * process wait for the pending write (PendingConversationWrites). A crash before the write leaves
 * last_message at an earlier message until the conversation's next send.
 */
@Injectable()
export class LastMessageWriter {
  private readonly logger = new Logger('LastMessageWriter');
  private readonly slots = new Map<string, Slot>();
  private idleWaiters: Array<() => void> = [];
  /** Retries of a failed write and the delay before the first (doubling). Tests shorten the delay. */
  retry = { attempts: 8, firstDelayMs: 200 };
  /**
   * Writes in flight in this process, all conversations together. Beyond it a conversation's write
   * waits for a free place, taking the newest value when it starts: under load fewer, coalesced writes
   * instead of one per batch and conversation competing with the sends' own database round trips.
   */
  maxInFlight = 8;
  private inFlight = 0;
  private readonly queued: Array<() => void> = [];

  constructor(
    private readonly conversations: ConversationsRepository,
    private readonly pending: PendingConversationWrites,
  ) {}

  /** Conversations with a write running or waiting. */
  get size(): number {
    return this.slots.size;
  }

  /** Schedules the write of `last` (returns at once; reads of the conversation on this process wait for it). */
  write(tenantId: TenantId, conversationId: string, last: LastMessageDoc | null, lastSeq: number): void {
    const key = `${tenantId}\u0000${conversationId}`;
    let slot = this.slots.get(key);
    const idle = !slot;
    if (!slot) this.slots.set(key, (slot = { tenantId, conversationId, next: null, nextSeq: 0, nextDone: null, failures: 0 }));
    offer(slot, last, lastSeq);
    if (!slot.nextDone) {
      slot.nextDone = deferred();
      this.pending.hold(tenantId, conversationId, slot.nextDone.promise);
    }
    if (idle) void this.run(key, slot);
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

  private place(): Promise<void> | void {
    if (this.inFlight < this.maxInFlight) {
      this.inFlight++;
      return;
    }
    return new Promise<void>((r) => this.queued.push(r));
  }

  /** Hands the place on to the next queued write, if any (inFlight stays counted for it). */
  private leave(): void {
    const next = this.queued.shift();
    if (next) next();
    else this.inFlight--;
  }

  /** Writes the slot's value until none is waiting; the only writer of this conversation in this process. */
  private async run(key: string, slot: Slot): Promise<void> {
    const what = `last_message of conversation ${slot.conversationId}`;
    while (slot.nextSeq) {
      if (slot.failures) await new Promise((r) => setTimeout(r, this.retry.firstDelayMs * 2 ** (slot.failures - 1)).unref());
      await this.place();
      const value = slot.next;
      const seq = slot.nextSeq;
      const done = slot.nextDone;
      slot.next = null;
      slot.nextSeq = 0;
      slot.nextDone = null;
      const t0 = performance.now();
      try {
        await TenantContext.run({ tenantId: slot.tenantId, actor: { type: 'system', id: 'last-message-writer' } }, () =>
          value ? this.conversations.setLastMessage(slot.conversationId, value, value.sent_at, seq) : this.conversations.raiseLastSeq(slot.conversationId, seq),
        );
        slot.failures = 0;
        writeStageSeconds.observe({ stage: 'last_message' }, (performance.now() - t0) / 1000);
      } catch (err) {
        const reason = (err as Error)?.message ?? String(err);
        if (++slot.failures > this.retry.attempts) {
          this.logger.error(`${what}: giving up after ${this.retry.attempts} retries (${reason})`);
          slot.failures = 0;
        } else {
          this.logger.warn(`${what} failed (${reason}); retry ${slot.failures}/${this.retry.attempts}`);
          // Retried with the newest value; reads waiting for this attempt go on and show what is stored.
          offer(slot, value, seq);
        }
      } finally {
        this.leave();
        done?.resolve();
      }
    }
    this.slots.delete(key);
    if (!this.slots.size) this.idleWaiters.splice(0).forEach((r) => r());
  }
}
