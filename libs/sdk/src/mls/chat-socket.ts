/**
 * MlsChat with the socket (docs/e2e.md, "Wire format v2"): v2 sends over socket.io with the same 409
 * handling as REST, and following the server's membership so nobody acts by hand: a device opens
 * every conversation on its first connect, joins the group of a conversation it is added to, and
 * commits the removal of members the server removed.
 */
import type { MessagePayload } from '../e2e-client';
import { isChatApiError } from '../errors';
import type { ChatSocket, SendAck } from '../socket-client';
import type { SendMessageInput } from '../types';
import type { MlsChat } from './chat';
import type { V2MessageType } from './content';

/** Attempts against a moving epoch before giving up (as MlsChat.send). */
const MAX_ATTEMPTS = 8;

/** Sends a v2 message over the socket; on the server's 409 the SDK catches up (or commits a pending removal) and retries. */
export async function sendOverSocket(
  chat: MlsChat,
  socket: ChatSocket,
  conversationId: string,
  payload: MessagePayload,
  opts: { type?: V2MessageType; clientMsgId?: string; threadParentId?: string; frankingCommitment?: string; indexText?: string } = {},
): Promise<SendAck> {
  let last: unknown;
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    const input = {
      ...(await chat.prepareInput(conversationId, payload, opts)),
      ...(opts.clientMsgId ? { client_msg_id: opts.clientMsgId } : {}),
      ...(opts.threadParentId ? { thread_parent_id: opts.threadParentId } : {}),
    } as unknown as SendMessageInput;
    try {
      return await socket.send(conversationId, input);
    } catch (err) {
      if (!isChatApiError(err, 'conflict')) throw err;
      last = err;
      await chat.handleConflict(conversationId, err.details);
    }
  }
  throw last;
}

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
