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
}

export interface SyncPage<M> {
  messages: M[];
  has_more: boolean;
}

/**
 * One cursor per conversation, in the order each first appears. A conversation asked for twice is
 * answered once, from the earlier of its cursors (the client then gets everything either cursor
 * wanted). Without this, one id repeated 100 times did the same reads 100 times and sent them back
 * 100 times.
 */
export function distinctCursors(cursors: readonly SyncCursor[]): SyncCursor[] {
  const byId = new Map<string, SyncCursor>();
  for (const c of cursors) {
    const seen = byId.get(c.conversation_id);
    if (!seen) byId.set(c.conversation_id, { conversation_id: c.conversation_id, after_seq: c.after_seq });
    else if (c.after_seq < seen.after_seq) seen.after_seq = c.after_seq;
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
  | { conversation_id: string; messages: M[]; has_more: boolean; next_after_seq: number }
  | ({ conversation_id: string } & ErrorBody);

/**
 * Runs one sync request: for each conversation, the messages after the client's last `seq`, in order,
 * at most `limit` each and `maxMessagesPerRequest` in all (budget given out in request order, so the
 * answer is deterministic). A conversation the user may no longer read gets its own error entry
 * instead of failing the others. `next_after_seq` is what to send next time for that conversation.
 */
export async function runSync<M extends { seq: number }>(
  cursors: readonly SyncCursor[],
  limit: number,
  fetchPage: (conversationId: string, afterSeq: number, limit: number) => Promise<SyncPage<M>>,
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
        const page = await fetchPage(p.conversation_id, p.after_seq, p.take);
        const messages = page.messages.slice(0, p.take);
        const lastSeq = messages.length ? messages[messages.length - 1].seq : p.after_seq;
        results[i] = { conversation_id: p.conversation_id, messages, has_more: page.has_more || page.messages.length > p.take, next_after_seq: lastSeq };
      } catch (err) {
        results[i] = { conversation_id: p.conversation_id, ...errorAck(err).body };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SYNC_LIMITS.concurrency, plan.length) }, worker));
  return results;
}
