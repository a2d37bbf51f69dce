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
