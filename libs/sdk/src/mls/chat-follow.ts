/**
 * MlsChat following the server's membership, so nobody acts by hand (docs/e2e.md, "Wire format v2"):
 * a device opens every conversation on its first connect, joins the group of a conversation it is
 * added to, and commits the removal of members the server removed.
 */
import type { ChatSocket } from '../socket-client';
import type { MlsChat } from './chat';

/** Opens every conversation of the user, one after the other; returns their ids. */
export async function openAllConversations(chat: MlsChat): Promise<string[]> {
  const opened: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await chat.client.listConversations({ limit: 100, ...(cursor ? { cursor } : {}) });
    for (const c of page.data) {
      await chat.open(c.id);
      opened.push(c.id);
    }
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return opened;
}

/**
 * Subscribes to the socket's membership events. Failures go to `onError` (the next send or receive
 * tries again). Returns the unsubscribe function.
 */
export function followMembership(chat: MlsChat, socket: ChatSocket, onError: (err: unknown) => void = () => undefined): () => void {
  const offs = [
    socket.on('conversation:new', (c) => void chat.open(c.id).catch(onError)),
    socket.on('member:added', (e) => {
      if (e.user_ids.includes(chat.userId)) void chat.open(e.conversation_id).catch(onError);
    }),
    socket.on('member:removed', (e) => void chat.onMembersRemoved(e.conversation_id, e.user_ids).catch(onError)),
  ];
  return () => offs.forEach((off) => off());
}
