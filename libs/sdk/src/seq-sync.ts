import { ChatApiError } from './errors';
import type { ChatSocketEvents, SyncConversationResult, SyncCursor } from './socket-events';
import type { MessageView } from './types';

/**
 * A hole in live delivery is asked for again until the server answers it: it always does once the
 * seq's write lands or the seq is older than its grace period (then it holds a gap tombstone), and
 * says when to ask again (retry_after_ms). The bound is a last resort against a misbehaving server.
 */
const HOLE_RETRIES = 40;
const HOLE_RETRY_MS = 250;
/** Sync refusals that mean "later", not "never" (a busy node, the user's work budget): retried after retry_after_seconds. */
const SYNC_RETRYABLE = new Set(['service_unavailable', 'rate_limited']);
const SYNC_RETRY_MAX_SECONDS = 60;
const HOLE_RETRY_MAX_MS = 5_000;

/** What SeqSync needs from the socket it serves. */
export interface SeqSyncHost {
  sync(cursors: SyncCursor[], limit?: number): Promise<{ conversations: SyncConversationResult[] }>;
  fire<K extends keyof ChatSocketEvents>(event: K, payload: ChatSocketEvents[K]): void;
  isClosed(): boolean;
  readonly syncLimit?: number;
}

/**
 * ChatSocket's `seq` bookkeeping: the last seq delivered and the change position per conversation;
 * live messages delivered in seq order (a message after a hole is held while `sync` fills the hole);
 * the catch-up after a (re)connect, page by page, with changes made meanwhile delivered as
 * message:updated / message:deleted.
 */
export class SeqSync {
  readonly positions = new Map<string, number>();
  readonly changePositions = new Map<string, number>();
  /** Per conversation: the catch-up in progress (live messages wait behind it). */
  private readonly catchingUp = new Map<string, Promise<void>>();
  /** Live messages that arrived after a hole, waiting for the hole to be filled. */
  private readonly held = new Map<string, MessageView[]>();
  /** When the server said a pending hole can be answered (retry_after_ms of the last sync). */
  private readonly retryAfter = new Map<string, number>();
  /** Conversations with a catch-up scheduled because the server answered a pending hole. */
  private readonly pendingRetry = new Set<string>();

  constructor(
    private readonly host: SeqSyncHost,
    positions: Record<string, number> = {},
    changePositions: Record<string, number> = {},
  ) {
    for (const [c, seq] of Object.entries(positions)) this.positions.set(c, seq);
    for (const [c, n] of Object.entries(changePositions)) this.changePositions.set(c, n);
  }

  /** A change made while away: its current state, as the live event would have told it. */
  private applyChange(m: MessageView): void {
    if (m.gap || m.seq > (this.positions.get(m.conversation_id) ?? 0)) return;
    if (m.deleted_at) this.host.fire('message:deleted', { conversation_id: m.conversation_id, message_id: m.id, seq: m.seq, deleted_at: m.deleted_at });
    else this.host.fire('message:updated', m);
  }

  private deliver(m: MessageView): void {
    const last = this.positions.get(m.conversation_id) ?? 0;
    if (m.seq <= last) return;
    this.positions.set(m.conversation_id, m.seq);
    if (!m.gap) this.host.fire('message:new', m);
  }

  async onLiveMessage(m: MessageView): Promise<void> {
    const pending = this.catchingUp.get(m.conversation_id);
    if (pending) await pending;
    const last = this.positions.get(m.conversation_id);
    if (last === undefined || m.seq <= last + 1) {
      this.deliver(m);
      this.flushHeld(m.conversation_id, false);
      return;
    }
    // A hole before this message: hold it, fetch what is missing, then deliver in order.
    const held = this.held.get(m.conversation_id) ?? [];
    held.push(m);
    this.held.set(m.conversation_id, held);
    if (held.length === 1) void this.fillHole(m.conversation_id, 0);
  }

  /**
   * Sync until the held messages connect to the position. The server answers a seq whose write is
   * still in flight as a pending hole with retry_after_ms, so a few retries a moment apart are normal;
   * it answers every seq (message, gap tombstone or hidden) once the grace period is over.
   */
  private async fillHole(conversationId: string, attempt: number): Promise<void> {
    await this.catchUp([conversationId]);
    const done = this.flushHeld(conversationId, attempt >= HOLE_RETRIES);
    if (done || this.host.isClosed()) return;
    const wait = Math.min(HOLE_RETRY_MAX_MS, this.retryAfter.get(conversationId) ?? HOLE_RETRY_MS * (attempt + 1));
    setTimeout(() => void this.fillHole(conversationId, attempt + 1), wait);
  }

  /** A catch-up again once a pending hole can be answered (bounded like hole fills). */
  private retryPending(conversationId: string, attempt: number): void {
    if (this.host.isClosed() || attempt > HOLE_RETRIES || this.pendingRetry.has(conversationId)) return;
    this.pendingRetry.add(conversationId);
    const wait = Math.min(HOLE_RETRY_MAX_MS, this.retryAfter.get(conversationId) ?? HOLE_RETRY_MS);
    setTimeout(() => {
      this.pendingRetry.delete(conversationId);
      if (this.host.isClosed()) return;
      void this.catchUp([conversationId]).then(() => {
        if (this.retryAfter.has(conversationId)) this.retryPending(conversationId, attempt + 1);
      });
    }, wait);
  }

  /** Delivers held messages that are next in line (all of them when `force`); true when none is left. */
  private flushHeld(conversationId: string, force: boolean): boolean {
    const held = this.held.get(conversationId);
    if (!held?.length) return true;
    held.sort((a, b) => a.seq - b.seq);
    while (held.length && (force || held[0]!.seq <= (this.positions.get(conversationId) ?? 0) + 1)) this.deliver(held.shift()!);
    if (!held.length) this.held.delete(conversationId);
    return held.length === 0;
  }

  /** Waits as the server asked (bounded), before syncing what it could not serve yet. */
  private retryPause(seconds: number | undefined): Promise<void> {
    const ms = Math.min(SYNC_RETRY_MAX_SECONDS, Math.max(1, seconds ?? 1)) * 1000;
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  catchUpAll(): Promise<void> {
    return this.catchUp([...this.positions.keys()]);
  }

  /** Sync the conversations after their positions, page by page, delivering in seq order. */
  private async catchUp(conversationIds: string[]): Promise<void> {
    const ids = conversationIds.filter((id) => !this.catchingUp.has(id));
    if (!ids.length) {
      await Promise.all(conversationIds.map((id) => this.catchingUp.get(id)));
      return;
    }
    const run = (async () => {
      let delivered = 0;
      let changed = 0;
      let todo = ids;
      // Bounded: every round either advances a position or drops the conversation.
      for (let round = 0; todo.length && round < 1000; round++) {
        const batch = todo.slice(0, 100);
        let res: { conversations: SyncConversationResult[] };
        try {
          res = await this.host.sync(
            batch.map((id) => ({ conversation_id: id, after_seq: this.positions.get(id) ?? 0, after_change: this.changePositions.get(id) ?? 0 })),
            this.host.syncLimit,
          );
        } catch (err) {
          // The whole request refused for now (the user's work budget): the same batch, later.
          if (!(err instanceof ChatApiError) || !SYNC_RETRYABLE.has(err.code) || this.host.isClosed()) throw err;
          await this.retryPause(err.retryAfterSeconds);
          continue;
        }
        const again: string[] = [];
        const later: string[] = [];
        let pause = 0;
        for (const r of res.conversations) {
          if (r.error) {
            const err = ChatApiError.fromBody(0, { error: r.error });
            if (SYNC_RETRYABLE.has(err.code)) {
              later.push(r.conversation_id);
              pause = Math.max(pause, err.retryAfterSeconds ?? 1);
            } else {
              this.host.fire('error', err);
            }
            continue;
          }
          const before = this.positions.get(r.conversation_id) ?? 0;
          const changesBefore = this.changePositions.get(r.conversation_id) ?? 0;
          // Changes first: they are about messages up to the position this request was made from.
          for (const m of r.changes ?? []) {
            this.applyChange(m);
            changed++;
          }
          if (r.next_after_change !== undefined && r.next_after_change > changesBefore) this.changePositions.set(r.conversation_id, r.next_after_change);
          for (const m of r.messages ?? []) {
            if (m.seq > (this.positions.get(m.conversation_id) ?? 0) && !m.gap) delivered++;
            this.deliver(m);
          }
          // Hidden seqs (sent while this user was not a member) are answered too: the position moves past them.
          if (r.next_after_seq !== undefined && r.next_after_seq > (this.positions.get(r.conversation_id) ?? 0)) this.positions.set(r.conversation_id, r.next_after_seq);
          if (r.retry_after_ms !== undefined) {
            this.retryAfter.set(r.conversation_id, r.retry_after_ms);
            // Messages after the pending seq wait behind it: ask again when the server said it can answer.
            this.retryPending(r.conversation_id, 0);
          } else this.retryAfter.delete(r.conversation_id);
          const moved = (this.positions.get(r.conversation_id) ?? 0) > before || (this.changePositions.get(r.conversation_id) ?? 0) > changesBefore;
          if ((r.has_more || r.changes_has_more) && moved) again.push(r.conversation_id);
        }
        if (later.length) {
          if (this.host.isClosed()) break;
          await this.retryPause(pause);
        }
        todo = [...again, ...later, ...todo.slice(100)];
      }
      this.host.fire('synced', { conversations: ids.length, messages: delivered, changes: changed });
    })();
    for (const id of ids) this.catchingUp.set(id, run);
    try {
      await run;
    } catch (err) {
      this.host.fire('error', err instanceof ChatApiError ? err : new ChatApiError(0, 'network_error', (err as Error).message));
    } finally {
      for (const id of ids) if (this.catchingUp.get(id) === run) this.catchingUp.delete(id);
    }
  }
}
