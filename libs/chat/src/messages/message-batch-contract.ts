import type { TenantId } from '@chat/tenancy';
import type { MessageRecord } from './message.schema';
import type { InsertOutcome, NewMessage } from './messages.repository';
import type { ClientMsgKey } from './message-id';

/* What the group commit (MessageWriteBatcher) takes, needs from storage and hands on: its contract with the rest of the send path. */

/** What the batcher needs from storage; every call runs inside TenantContext for the batch's tenant. */
export interface MessageBatchStore {
  /** Reserves `count` consecutive seqs of the conversation (one atomic step); returns the first of the block. */
  reserveSeqs(conversationId: string, count: number): Promise<number>;
  /**
   * Moves the conversation's seq counter above every stored seq, after a reserved seq turned out to be
   * taken (the counter was seeded while seqs were in flight). Optional: without it such a send fails.
   */
  raiseSeqsAbove?(conversationId: string): Promise<void>;
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
  /** Batches written at the same time (at most two of one conversation: MessageWriteBatcher's PIPELINE_DEPTH). */
  concurrency: number;
  /** Queued sends beyond which new sends are refused with 503 (back-pressure). */
  queueMax: number;
}

/** A message ready to store, minus what the batcher assigns (_id, seq). */
export type MessageDraft = Omit<NewMessage, '_id' | 'seq'>;

export interface SendOutcome {
  message: MessageRecord;
  /** True when client_msg_id matched an earlier message: `message` is that original. */
  duplicate: boolean;
}

/**
 * What follows a stored batch (MessageCommitEffects): once per conversation with the messages it stored, before their senders are
 * answered (their events). Writes that need not precede the ack (last_message) it only schedules: the conversation is free for
 * its next batch as soon as this returns.
 */
export interface MessageCommitStep {
  commit(tenantId: TenantId, conversationId: string, committed: MessageRecord[]): Promise<void>;
}
