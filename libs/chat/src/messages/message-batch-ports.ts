import type { TenantId } from '@chat/tenancy';
import type { ClientMsgKey } from './message-id';
import type { MessageRecord } from './message.schema';
import type { InsertOutcome, NewMessage } from './messages.repository';

/* What MessageWriteBatcher is given: its storage, its options and the step that follows a stored batch. */

/** What the batcher needs from storage; every call runs inside TenantContext for the batch's tenant. */
export interface MessageBatchStore {
  /** One atomic $inc of the conversation's last_seq; returns the first seq of the reserved block. */
  reserveSeqs(conversationId: string, count: number): Promise<number>;
  insertBatch(docs: NewMessage[]): Promise<InsertOutcome[]>;
  /** Messages already stored under these keys, looked up by their derived _id (fast everywhere). */
  findByClientMsgIds(keys: ClientMsgKey[]): Promise<MessageRecord[]>;
  /** The same by the key's fields (a scan on FerretDB): only after a duplicate-key error the fast lookup could not explain. */
  findByClientMsgFields(keys: ClientMsgKey[]): Promise<MessageRecord[]>;
  insertGap(conversationId: string, seq: number, senderId: string, now: Date): Promise<boolean>;
  /**
   * Which of these derived message ids are sent for the first time (true: no retry lookup needed);
   * null when that cannot be known. Optional: without it every client-chosen id is looked up.
   */
  claimFirstSends?(messageIds: string[]): Promise<boolean[] | null>;
}

export interface MessageBatcherOptions {
  /** How long a batch collects sends before it is written (0: only what arrived in the same tick). */
  windowMs: number;
  /** Largest batch; a full batch is written at once without waiting for the window. */
  maxBatch: number;
  /** Batches written at the same time (a conversation reserves seqs in one of them at a time). */
  concurrency: number;
  /** Queued sends beyond which new sends are refused with 503 (back-pressure). */
  queueMax: number;
}

/**
 * What follows a stored batch (MessageCommitEffects): once per conversation with the messages it
 * stored, before their senders are answered, in seq order per conversation.
 */
export interface MessageCommitStep {
  /**
   * Optional: once a conversation's seqs are reserved, while its messages are being inserted (the
   * insert does not wait for it). What it resolves to is handed to `commit` as `note`; `commit` is
   * then called for that conversation even if none of its messages was stored, and with `turn`.
   */
  storing?(tenantId: TenantId, conversationId: string, reserved: MessageRecord[]): Promise<unknown>;
  /**
   * `turn` (only to a step with `storing`) resolves once the previous batch of the conversation is
   * done: the step waits for it before raising its events, not before its writes. A step without
   * `storing` is called only when that previous batch is done.
   */
  commit(tenantId: TenantId, conversationId: string, committed: MessageRecord[], note?: unknown, turn?: Promise<void>): Promise<void>;
}
