/**
 * How ChatSession (session.ts) turns stream entries into what the screens show, and how a first send
 * waits for online members' devices. Free functions over the session, as session-events.ts, so that
 * session.ts stays the session's state and its actions.
 */
import type { MessageView } from '@sdk';
import { decryptErrorText } from './e2e-v2';
import type { ChatSession } from './session';
import { systemText, type UiMessage } from './ui-message';

/** How long a send waits for an online member's device to join a group it is not in yet (once per conversation). */
const PEER_JOIN_WAIT_MS = 10_000;

/** What the screen shows of a stream entry (a commit is applied on the way; null when nothing to show). */
export async function toUi(s: ChatSession, m: MessageView): Promise<UiMessage | null> {
  const ui: UiMessage = { view: m, reactions: [] };
  // Before the content check: a system message has no envelope (content null), only its clear text.
  const sys = m.deleted_at ? null : systemText(m);
  if (sys !== null) return { ...ui, system: true, text: sys };
  if (m.deleted_at || !m.content) return ui;
  try {
    const r = await s.v2.receive(m);
    if (r.kind === 'handshake') {
      const notice = joinNotice(s, r.joined);
      return notice ? { ...ui, notice } : null;
    }
    if (r.payload.kind === 'text') ui.text = r.payload.text;
    else if (r.payload.kind === 'file') ui.file = r.payload;
    ui.reactions = await reactionsOf(s, m);
  } catch (err) {
    ui.error = decryptErrorText(err);
  }
  return ui;
}

/** "Bob's new device joined", for devices other than this browser (null when only this one). */
export function joinNotice(s: ChatSession, joined: Array<{ user_id: string; device_id: string }>): string | null {
  const lines = joined
    .filter((d) => d.user_id !== s.userId || d.device_id !== s.v2.deviceId)
    .map((d) => (d.user_id === s.userId ? `Your new device joined (${d.device_id})` : `${s.names.get(d.user_id)}'s new device joined`));
  return lines.length ? lines.join(' · ') : null;
}

/**
 * A member online whose device is not in the group yet (a chat just made, both online): the first send
 * waits (bounded) for their device's join, so they can read it; an offline member is not waited for.
 */
export async function awaitPeers(s: ChatSession, waitedFor: Set<string>, conversationId: string): Promise<void> {
  if (waitedFor.has(conversationId)) return;
  waitedFor.add(conversationId);
  const others = s.conversations.get(conversationId)?.participants.map((p) => p.user_id).filter((u) => u !== s.userId) ?? [];
  if (!others.length) return;
  await s.v2.chat.open(conversationId);
  const missing = () => s.v2.usersWithoutDevice(conversationId, others).filter((u) => !s.joinedUsers.get(conversationId)?.has(u));
  if (!missing().length) return;
  const r = (await s.socket.presence(missing()).catch(() => ({ users: [] }))) as { users: Array<{ user_id: string; status: string }> };
  const online = new Set(r.users.filter((u) => u.status === 'online').map((u) => u.user_id));
  const deadline = Date.now() + PEER_JOIN_WAIT_MS;
  while (missing().some((u) => online.has(u)) && Date.now() < deadline) {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        s.joinWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, deadline - Date.now());
      s.joinWaiters.add(done);
    });
  }
}

async function reactionsOf(s: ChatSession, m: MessageView): Promise<UiMessage['reactions']> {
  const clear = await s.v2.chat.reactions(m).catch(() => []);
  const out = new Map<string, { emoji: string; count: number; mine: boolean }>();
  for (const r of clear) {
    const e = out.get(r.emoji) ?? { emoji: r.emoji, count: 0, mine: false };
    e.count++;
    if (r.user_id === s.userId) e.mine = true;
    out.set(r.emoji, e);
  }
  return [...out.values()];
}
