import { Logger } from '@nestjs/common';
import { RedisService } from '@chat/redis';
import { RequestSlot } from '@chat/tenancy';
import { canonicalConversationId } from '../conversations/conversation-id';
import { messageIdFor } from './message-id';

/**
 * How long a send's claim lives. A retry later than this (or after Redis lost the key) is still
 * answered with the original message, through the duplicate-key path: it only costs a seq, filled
 * with a gap tombstone.
 */
export const SEND_CLAIM_TTL_SECONDS = 86_400;

/**
 * "Has this client_msg_id been sent before?" answered by Redis instead of the database. Each send with
 * a client-chosen id claims its derived message id (SET NX, one pipelined round trip per batch); a
 * send that wins the claim is a first attempt and skips the retry lookup in the database, which was
 * one query per message on FerretDB and one per batch on MongoDB. A send that loses it may be a retry
 * (or raced one) and is looked up as before. Without Redis every send is looked up.
 */
export class SendClaims {
  private readonly logger = new Logger('SendClaims');

  constructor(private readonly redis: RedisService) {}

  /** The Redis key of a message id's claim. */
  static key(redis: RedisService, tenantId: string, messageId: string): string {
    return redis.key('send', tenantId, messageId);
  }

  /** For each message id: true when this call claimed it first; null when Redis is absent or failed. */
  async claim(tenantId: string, messageIds: string[]): Promise<boolean[] | null> {
    const client = this.redis.client;
    if (!client) return null;
    if (!messageIds.length) return [];
    try {
      const p = client.pipeline();
      for (const id of messageIds) p.set(SendClaims.key(this.redis, tenantId, id), '1', 'EX', SEND_CLAIM_TTL_SECONDS, 'NX');
      const res = await p.exec();
      if (!res) return null;
      return res.map(([err, v]) => !err && v === 'OK');
    } catch (err) {
      this.logger.warn(`send claims failed, looking every send up: ${(err as Error).message}`);
      return null;
    }
  }
}

/** A socket send's claim, made by the gate's one script (EventCharges) instead of by the batch. */
export interface GateSendClaim {
  /** The message id the client_msg_id fixes (messageIdFor), hex. */
  messageId: string;
  key: string;
  ttlMs: number;
}

/**
 * The claim a socket `message:send` makes at its gate, or null: no client-chosen id (nothing to look up),
 * or no Redis. Same id and key as the batch's own claim (SendClaims.claim).
 */
export function gateSendClaim(redis: RedisService, tenantId: string, senderId: string, conversationId: string, clientMsgId: string | undefined): GateSendClaim | null {
  if (clientMsgId === undefined || !redis.client) return null;
  const messageId = messageIdFor(tenantId, { conversation_id: canonicalConversationId(conversationId), sender_id: senderId, client_msg_id: clientMsgId }).toHexString();
  return { messageId, key: SendClaims.key(redis, tenantId, messageId), ttlMs: SEND_CLAIM_TTL_SECONDS * 1000 };
}

/** Gate claims' answers, by the request context the send runs in (as QuotaService.prepayMessage). */
const gateClaims = new RequestSlot<{ messageId: string; won: boolean }>();

/** Hands the gate claim's answer to the send of the current request context (call inside its TenantContext.run). */
export function noteGateClaim(messageId: string, won: boolean): void {
  gateClaims.put({ messageId, won });
}

/**
 * The gate claim's answer for the current request context, once. The batch uses it only for the send
 * whose id it is (MessageWriteBatcher); any other send claims as before. A claim is only a shortcut: a
 * retry taken for a first attempt still collides on the unique _id and is answered with the original.
 */
export function takeGateClaim(): { messageId: string; won: boolean } | null {
  return gateClaims.take();
}
