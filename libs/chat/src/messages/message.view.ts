import type { MessageViewOf } from '@chat/contracts';
import type { MessageContent, MessageRecord } from './message.schema';

/** A message as clients receive it (REST bodies and socket events): the wire contract, with the stored envelope type. */
export type MessageView = MessageViewOf<MessageContent>;

const iso = (d: Date | string | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

export function toMessageView(m: MessageRecord): MessageView {
  return {
    id: String(m._id),
    conversation_id: m.conversation_id,
    seq: m.seq,
    sender_id: m.sender_id,
    client_msg_id: m.client_msg_id,
    content: m.content ?? null,
    preview: m.preview ?? null,
    mentions: m.mentions ?? [],
    reactions: (m.reactions ?? []).map((r) => ({ user_id: r.user_id, emoji: r.emoji, created_at: iso(r.created_at)! })),
    thread: { parent_id: m.thread?.parent_id ?? null, reply_count: m.thread?.reply_count ?? 0 },
    read_by: (m.read_by ?? []).map((r) => ({ user_id: r.user_id, read_at: iso(r.read_at)! })),
    status: m.status,
    gap: m.gap ?? false,
    created_at: iso(m.created_at)!,
    updated_at: iso(m.updated_at)!,
    edited_at: iso(m.edited_at),
    deleted_at: iso(m.deleted_at),
    change_seq: m.change_seq ?? 0,
    type: m.type ?? 'regular',
    e2e: (m.type ?? 'regular') !== 'system',
    text: m.type === 'system' && !m.deleted_at ? (m.text ?? null) : null,
  };
}
