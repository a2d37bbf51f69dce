import { MessageDraft } from './message-batch-contract';

/** What a caller says about a new message; everything else starts empty. */
type DraftInput = Pick<MessageDraft, 'conversation_id' | 'sender_id' | 'client_msg_id' | 'content'> &
  Partial<Pick<MessageDraft, 'type' | 'text' | 'preview' | 'search_tokens' | 'mentions'>> & { thread_parent_id?: string | null };

/**
 * A message as it is first stored: no reactions, receipts or edits yet, `sent`, not a gap. One builder
 * for every writer (member sends, MLS commits, system messages), so a field added to messages starts
 * the same way everywhere.
 */
export function messageDraft(input: DraftInput, now: Date): MessageDraft {
  const { thread_parent_id, ...fields } = input;
  return {
    preview: null,
    search_tokens: [],
    mentions: [],
    ...fields,
    reactions: [],
    thread: { parent_id: thread_parent_id ?? null, reply_count: 0 },
    read_by: [],
    status: 'sent',
    gap: false,
    created_at: now,
    updated_at: now,
    edited_at: null,
    deleted_at: null,
  };
}
