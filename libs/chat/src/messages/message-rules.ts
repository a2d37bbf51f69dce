import { AppError, ErrorCode, jsonByteLength, jsonByteLengthAtMost } from '@chat/errors';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { ConversationView } from '../conversations/conversation.views';
import { EMOJI_PATTERN } from './message.dto';
import { MessageContent } from './message.schema';
import { MessageView } from './message.view';
import { StreamViewer } from './message-stream';
import { isV2, plainContentV2 } from './e2e-v2';

/** Checks and helpers shared by send, edit, reactions and reads (pure, or one repository call). */

export const reactionKey = (userId: string, emoji: string) => `${userId.length}:${userId}:${emoji}`;

/** Checked here too, not only by the REST param check: the socket gateway calls the service directly. */
export function checkEmoji(emoji: string): void {
  if (typeof emoji !== 'string' || !EMOJI_PATTERN.test(emoji)) {
    throw AppError.validation([{ field: 'emoji', problems: ['must be 1-64 characters without spaces or slashes'] }]);
  }
}

export const asRecord = (v: MessageView) => v as unknown as Record<string, unknown>;

export function viewerOf(conv: ConversationView, userId: string): StreamViewer {
  return { userId, joinedSeq: conv.participants.find((p) => p.user_id === userId)?.joined_seq ?? 0 };
}

export function memberIdsOf(conv: ConversationView): string[] {
  return conv.participants.map((p) => p.user_id);
}

/**
 * Shape is checked by the DTO; here: total size. The wrapped key of every current member device is
 * checked by the key directory (one error shape for a missing device and a missing member).
 */
export function checkEnvelope(content: MessageContent, searchTokens: string[] | undefined, maxBytes: number): void {
  // Nearly every envelope is far below the limit: that much is decided from its strings' lengths
  // (jsonByteLengthAtMost); only an envelope near or over it has its bytes counted, for the answer.
  const tokenBytes = (searchTokens ?? []).reduce((n, t) => n + t.length + 3, 0);
  if (content !== null && typeof content === 'object' && jsonByteLengthAtMost(content, maxBytes - tokenBytes)) return;
  // The envelope's JSON size, counted without writing it (jsonByteLength; -1 only for no content, where this threw before).
  const contentBytes = jsonByteLength(content);
  const bytes = (contentBytes >= 0 ? contentBytes : Buffer.byteLength(JSON.stringify(content))) + tokenBytes;
  if (bytes > maxBytes) {
    throw new AppError(ErrorCode.PayloadTooLarge, `Message is ${bytes} bytes; the limit is ${maxBytes}`, {
      size_bytes: bytes,
      max_bytes: maxBytes,
    });
  }
}

export function checkMentions(mentions: string[] | undefined, memberIds: string[]): void {
  if (!mentions?.length) return;
  const members = new Set(memberIds);
  const strangers = mentions.filter((m) => !members.has(m));
  if (strangers.length) throw AppError.validation([{ field: 'mentions', problems: [`not members of the conversation: ${strangers.join(', ')}`] }]);
}

/** A new change position of the conversation (see MessageStream.changes), taken before the message is written. */
export async function nextChange(conversations: ConversationsRepository, conversationId: string): Promise<number> {
  const c = await conversations.nextChangeSeq(conversationId);
  if (c === null) throw AppError.notFound('Conversation');
  return c;
}

export function dedupe(list: string[]): string[] {
  return [...new Set(list)];
}

/** A plain copy of the validated envelope (class instances from the pipe, known fields only). */
export function plainContent(c: MessageContent): MessageContent {
  if (isV2(c)) return plainContentV2(c);
  const out: MessageContent = {
    type: c.type,
    algorithm: c.algorithm,
    sender_device_id: c.sender_device_id,
    sender_key_version: c.sender_key_version,
    ephemeral_public_key: c.ephemeral_public_key,
    encrypted_data: c.encrypted_data,
    encrypted_key: (c.encrypted_key ?? []).map((k) => ({ user_id: k.user_id, device_id: k.device_id, key_version: k.key_version, wrapped_key: k.wrapped_key })),
  };
  if (c.signature !== undefined) out.signature = c.signature;
  if (c.franking_commitment !== undefined) out.franking_commitment = c.franking_commitment;
  return out;
}
