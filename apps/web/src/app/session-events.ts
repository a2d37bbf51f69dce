import type { MessageView } from '@sdk';
import { isHandshakeContent } from '@sdk/mls';
import type { ChatSession } from './session';

const TYPING_SHOWN_MS = 6000;

/** The socket's events into the session's state (live messages, commits, receipts, typing, presence, membership). */
export function wireSocket(session: ChatSession): void {
  const s = session.socket;
  s.on('connected', () => {
    session.connected = true;
    session.changed();
  });
  s.on('disconnected', () => {
    session.connected = false;
    session.changed();
  });
  s.on('message:new', async (m) => {
    if (!session.conversations.has(m.conversation_id)) await session.refreshConversations();
    if (isHandshakeContent(m.content)) {
      // A commit of the conversation's MLS group: applied in order (a device joining shows as a notice); not a message.
      await session.upsertMessage(m);
      session.changed();
      return;
    }
    const known = session.messages.get(m.conversation_id)?.has(m.id);
    await session.upsertMessage(m);
    if (!known) session.bumpConversation(m, m.sender_id !== session.userId);
    session.typing.get(m.conversation_id)?.delete(m.sender_id);
    session.changed();
    if (m.sender_id === session.userId) return;
    // A delivery receipt for every message that reaches this device; a read receipt when it is on screen.
    void session.socket.markDelivered(m.conversation_id, m.seq).catch(() => undefined);
    if (session.openId === m.conversation_id) await session.markRead(m.conversation_id);
  });
  s.on('message:updated', async (m) => {
    await session.upsertMessage(m);
    session.changed();
  });
  s.on('message:deleted', async (d) => {
    const ui = session.messages.get(d.conversation_id)?.get(d.message_id);
    if (ui) ui.view = { ...ui.view, content: null, deleted_at: d.deleted_at };
    if (ui) Object.assign(ui, { text: undefined, file: undefined, reactions: [] });
    session.changed();
  });
  const reacted = async (d: { conversation_id: string; message_id: string }) => {
    const m = await session.client.getMessage(d.conversation_id, d.message_id).catch(() => null);
    if (m) await session.upsertMessage(m);
    session.changed();
  };
  s.on('reaction:added', (d) => void reacted(d));
  s.on('reaction:removed', (d) => void reacted(d));
  s.on('typing', (t) => {
    if (t.user_id === session.userId) return;
    const m = session.typing.get(t.conversation_id) ?? new Map<string, number>();
    if (t.typing) m.set(t.user_id, Date.now() + TYPING_SHOWN_MS);
    else m.delete(t.user_id);
    session.typing.set(t.conversation_id, m);
    session.changed();
    setTimeout(() => session.changed(), TYPING_SHOWN_MS + 50);
  });
  s.on('presence', (p) => {
    session.presence.set(p.user_id, p.status);
    session.changed();
  });
  const position = (field: 'last_read_seq' | 'last_delivered_seq') => (r: { conversation_id: string; user_id: string; seq: number }) => {
    const p = session.conversations.get(r.conversation_id)?.participants.find((x) => x.user_id === r.user_id);
    if (p) p[field] = Math.max(p[field], r.seq);
    if (p && field === 'last_read_seq') p.last_delivered_seq = Math.max(p.last_delivered_seq, r.seq);
    session.changed();
  };
  s.on('conversation:read', position('last_read_seq'));
  s.on('message:delivered', position('last_delivered_seq'));
  s.on('conversation:new', () => void session.refreshConversations());
  s.on('conversation:updated', (c) => void session.refreshOne(c.id));
  s.on('member:added', (e) => void session.refreshOne(e.conversation_id));
  s.on('member:removed', (e) => void session.refreshOne(e.conversation_id));
  s.on('conversation:device_joined', (e) => {
    const joined = session.joinedUsers.get(e.conversation_id) ?? new Set<string>();
    session.joinedUsers.set(e.conversation_id, joined.add(e.user_id));
    for (const wake of [...session.joinWaiters]) wake();
    // The commit's own entry (message:new) shows the same notice: whichever comes first.
    const map = session.messages.get(e.conversation_id);
    const notice = session.joinNotice([e]);
    if (!map || map.has(e.message_id) || !notice) return;
    const view = { id: e.message_id, conversation_id: e.conversation_id, seq: e.seq, sender_id: e.user_id, created_at: new Date().toISOString(), content: null, reactions: [] };
    map.set(e.message_id, { view: view as unknown as MessageView, reactions: [], notice });
    session.changed();
  });
  document.addEventListener('visibilitychange', () => {
    if (session.openId) void session.markRead(session.openId);
  });
  const notices = { 'session:expired': 'Your session has expired: open a new sign-in link.', 'session:revoked': 'This account was deactivated.', 'tenant:suspended': 'This service is suspended.' } as const;
  for (const [event, text] of Object.entries(notices)) s.on(event as keyof typeof notices, () => ((session.notice = text), session.changed()));
}
