import { EventTrace, eventTrace } from '@chat/database';

/**
 * Key of a `message.updated` event: the message and the time of that change (an edit's edited_at, a
 * reply count change's updated_at). The webhook fast path derives it from the updated message, the
 * sweeper from the stored change: both name one event.
 */
export const messageChangeKey = (messageId: string, changedAt: string): string => `${messageId}@${changedAt}`;

/** What a reply count trace carries: the change, not the count (which only the write knows: see replyCountTrace). */
export interface ReplyCountTraceData {
  message_id: string;
  conversation_id: string;
  reply_count_change: number;
}

/**
 * The trace of a thread root's reply count change (`message.updated`), written on the root in the same
 * update as the `$inc` (docs/webhooks.md, Durability). It holds the change, not the new count: the
 * count is known only once the update has run, and reading it first would add a read to the reply path
 * on MongoDB. Every change of reply_count is traced, in order, so the count after one change is the
 * current count minus the changes traced after it (the webhook sweeper derives it that way).
 */
export function replyCountTrace(conversationId: string, parentId: string, by: number, at: Date): EventTrace {
  const data: ReplyCountTraceData = { message_id: parentId, conversation_id: conversationId, reply_count_change: by };
  return eventTrace('message.updated', { ...data }, at, messageChangeKey(parentId, at.toISOString()));
}
