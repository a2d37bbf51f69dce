import type { MessageContent, MessageRecord, MessageStatus, MessageType } from './message.schema';

/** A message as clients receive it (REST bodies and socket events). Search tokens stay on the server. */
export interface MessageView {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string;
  client_msg_id: string;
  content: MessageContent | null;
  preview: string | null;
  mentions: string[];
  reactions: Array<{ user_id: string; emoji: string; created_at: string }>;
  thread: { parent_id: string | null; reply_count: number };
  read_by: Array<{ user_id: string; read_at: string }>;
  status: MessageStatus;
  /** A seq that holds no message (a send that could not be stored); clients skip it. */
  gap: boolean;
  created_at: string;
  updated_at: string;
  edited_at: string | null;
  deleted_at: string | null;
  /** Change position of the latest edit, delete, reaction or thread-counter change (0: never changed). */
  change_seq: number;
  /** `system`: posted by the SaaS client's server, plaintext `text`, not end-to-end encrypted. */
  type: MessageType;
  /** False for system messages: clients show that they are not end-to-end encrypted. */
  e2e: boolean;
  /** A system message's plaintext (null on every other message, and once deleted). */
  text: string | null;
}

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
