import type { EncryptedMessageContent } from '../../libs/sdk/src/crypto';

/**
 * The wire protocol the generator speaks, to the project's gateway and to the baselines alike
 * (docs/architecture.md "Sockets"): handshake `auth: { token }`, client events acknowledged with
 * `{ ok: true, data }` or `{ error: { code, message } }`, deliveries pushed as `message:new`.
 */
export const EVENTS = {
  send: 'message:send',
  delivered: 'message:new',
  presence: 'presence',
  /** Only the bench servers answer it: closed-loop ping-pong floor. */
  ping: 'bench:ping',
} as const;

export interface SendPayload {
  conversation_id: string;
  client_msg_id: string;
  content: EncryptedMessageContent;
}

export type AckBody = { ok: true; data?: unknown } | { error: { code: string; message: string } };

export function ackError(ack: unknown): string | null {
  if (ack && typeof ack === 'object' && (ack as { ok?: unknown }).ok === true) return null;
  const code = (ack as { error?: { code?: unknown } } | null)?.error?.code;
  return typeof code === 'string' ? code : 'BAD_ACK';
}

/** The client_msg_id of a delivered message, whether the event carries the message or wraps it. */
export function deliveredClientMsgId(payload: unknown): unknown {
  if (!payload || typeof payload !== 'object') return undefined;
  const p = payload as { client_msg_id?: unknown; message?: { client_msg_id?: unknown }; data?: { client_msg_id?: unknown } };
  return p.client_msg_id ?? p.message?.client_msg_id ?? p.data?.client_msg_id;
}

/** Handshake token the baselines accept: no signature, just who and which conversations (they check nothing). */
export function baselineToken(userId: string, conversations: string[]): string {
  return `bench.${userId}.${conversations.join(',')}`;
}

export function parseBaselineToken(token: unknown): { userId: string; conversations: string[] } | null {
  if (typeof token !== 'string' || !token.startsWith('bench.')) return null;
  const [, userId, convs] = token.split('.');
  if (!userId) return null;
  return { userId, conversations: convs ? convs.split(',').filter(Boolean) : [] };
}
