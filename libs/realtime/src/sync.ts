import { ErrorBody } from '@chat/errors';
import { errorAck } from './acks';

/** Bounds of one `sync` request: a client with more to catch up on pages with `has_more`. */
export const SYNC_LIMITS = {
  defaultLimit: 100,
  // MessagesService.sync caps a page at 100.
  maxLimit: 100,
  maxConversations: 100,
  /** Messages returned by one sync request over all its conversations. */
  maxMessagesPerRequest: 1000,
  concurrency: 4,
} as const;

export interface SyncCursor {
  conversation_id: string;
  after_seq: number;
  /** Only the seqs below this one (a live gap's range); absent: up to the end of the stream. */
  before_seq?: number;
  /** The client's change position (edits, deletes, reactions since it). */
  after_change?: number;
}

export interface SyncPage<M> {
  messages: M[];
  has_more: boolean;
  /** Where the answer ends when it is not the last message's seq (holes after it are answered too). */
  next_after_seq?: number;
  /** More per-conversation fields of the answer (holes, changes), passed through as they are. */
  extra?: Record<string, unknown>;
}

/**
 * One cursor per conversation, in the order each first appears. A conversation asked for twice is
 * answered once, with a cursor that covers what every one of its cursors asked (the earliest
 * `after_seq` and `after_change`, the latest `before_seq` or none). Without this, one id repeated 100
 * times did the same reads 100 times and sent them back 100 times.
 */
export function distinctCursors<C extends SyncCursor>(cursors: readonly C[]): C[] {
  const byId = new Map<string, C>();
  const min = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));
  for (const c of cursors) {
    const seen = byId.get(c.conversation_id);
    if (!seen) {
      byId.set(c.conversation_id, { ...c });
      continue;
    }
    seen.after_seq = Math.min(seen.after_seq, c.after_seq);
    seen.after_change = min(seen.after_change, c.after_change);
    seen.before_seq = seen.before_seq === undefined || c.before_seq === undefined ? undefined : Math.max(seen.before_seq, c.before_seq);
  }
  return [...byId.values()];
}

/**
 * What a sync request costs, in work units charged to the user's budget: one per page read, i.e. per
 * distinct conversation (a membership check and one indexed read of at most `limit` messages), times
 * the pages a `limit` above one page would take.
 */
export function syncWorkUnits(cursors: readonly SyncCursor[], limit: number): number {
  const conversations = new Set(cursors.map((c) => c.conversation_id)).size;
  return Math.max(1, conversations * Math.max(1, Math.ceil(limit / SYNC_LIMITS.maxLimit)));
}

export type SyncResult<M> =
  | ({ conversation_id: string; messages: M[]; has_more: boolean; next_after_seq: number } & Record<string, unknown>)
  | ({ conversation_id: string } & ErrorBody);

/**
 * Runs one sync request: for each conversation, the messages after the client's last `seq`, in order,
 * at most `limit` each and `maxMessagesPerRequest` in all (budget given out in request order, so the
 * answer is deterministic). A conversation the user may no longer read gets its own error entry
 * instead of failing the others. `next_after_seq` is what to send next time for that conversation.
 */
export async function runSync<M extends { seq: number }, C extends SyncCursor = SyncCursor>(
  cursors: readonly C[],
  limit: number,
  fetchPage: (conversationId: string, afterSeq: number, limit: number, cursor: C) => Promise<SyncPage<M>>,
): Promise<SyncResult<M>[]> {
  let budget: number = SYNC_LIMITS.maxMessagesPerRequest;
  const plan = cursors.map((c) => {
    const take = Math.min(limit, budget);
    budget -= take;
    return { ...c, take };
  });
  const results: SyncResult<M>[] = new Array(plan.length);
  let next = 0;
  const worker = async () => {
    while (next < plan.length) {
      const i = next++;
      const p = plan[i];
      if (p.take === 0) {
        results[i] = { conversation_id: p.conversation_id, messages: [], has_more: true, next_after_seq: p.after_seq };
        continue;
      }
      try {
        const page = await fetchPage(p.conversation_id, p.after_seq, p.take, cursors[i]!);
        const cut = page.messages.length > p.take;
        const messages = cut ? page.messages.slice(0, p.take) : page.messages;
        const lastSeq = messages.length ? messages[messages.length - 1].seq : p.after_seq;
        const nextAfterSeq = !cut && page.next_after_seq !== undefined ? page.next_after_seq : lastSeq;
        results[i] = { conversation_id: p.conversation_id, messages, has_more: page.has_more || cut, next_after_seq: nextAfterSeq, ...page.extra };
      } catch (err) {
        results[i] = { conversation_id: p.conversation_id, ...errorAck(err).body };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SYNC_LIMITS.concurrency, plan.length) }, worker));
  return results;
}
