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
  /** Where the answer ends when it is not the last message's seq (holes after it are answered too). */
  next_after_seq?: number;
  /** More per-conversation fields of the answer (holes, changes), passed through as they are. */
  extra?: Record<string, unknown>;
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
