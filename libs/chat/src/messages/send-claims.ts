import { Logger } from '@nestjs/common';
import { RedisService } from '@chat/redis';

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

  /** For each message id: true when this call claimed it first; null when Redis is absent or failed. */
  async claim(tenantId: string, messageIds: string[]): Promise<boolean[] | null> {
    const client = this.redis.client;
    if (!client) return null;
    if (!messageIds.length) return [];
    try {
      const p = client.pipeline();
      for (const id of messageIds) p.set(this.redis.key('send', tenantId, id), '1', 'EX', SEND_CLAIM_TTL_SECONDS, 'NX');
      const res = await p.exec();
      if (!res) return null;
      return res.map(([err, v]) => !err && v === 'OK');
    } catch (err) {
      this.logger.warn(`send claims failed, looking every send up: ${(err as Error).message}`);
      return null;
    }
  }
}
