import { Injectable, Logger } from '@nestjs/common';
import { StoreDialect } from '@chat/database';
import { TenantId } from '@chat/tenancy';
import { ChatEventBus } from '../events/chat-events';
import { ConversationsRepository } from '../conversations/conversations.repository';
import type { LastMessageDoc } from '../conversations/conversation.schema';
import type { MessageRecord } from './message.schema';
import { toMessageView } from './message.view';
import { nextChange } from './message-rules';
import type { MessageCommitStep } from './message-write-batcher';
import { MessagesRepository } from './messages.repository';
import { RecentMessagesCache } from './recent-messages';
import { isHandshake } from './e2e-v2';

/** Retries of a failed commit effect (last_message), apart from the send: 0.2 s doubling, ~50 s in all. */
const FOLLOW_UP_RETRIES = 8;
const FOLLOW_UP_FIRST_DELAY_MS = 200;

/** What `storing` set last_message to, handed back to `commit` by the batcher. */
interface Announced {
  last: MessageRecord;
  /** The write failed (it may still have been applied: a lost answer). */
  failed?: unknown;
}

/** How many newest messages one look-up reads when last_message must fall back to an older message. */
const FALLBACK_PAGE = 50;

/**
 * The step around a stored batch of one conversation, before its senders are answered. While the
 * messages are inserted (`storing`, MongoDB only): last_message. Then (`commit`, in seq order per
 * conversation): last_message (FerretDB), or set back if it points at a message that could not be
 * stored; thread reply counters (and the cached page they change); then the events. The messages are durable whatever happens here: their events go
 * out even when a follow-up write fails (last_message is then retried apart), or members would not
 * get them live.
 */
@Injectable()
export class MessageCommitEffects implements MessageCommitStep {
  private readonly logger = new Logger('MessageCommitEffects');

  constructor(
    private readonly conversations: ConversationsRepository,
    private readonly messages: MessagesRepository,
    private readonly recentCache: RecentMessagesCache,
    private readonly events: ChatEventBus,
    private readonly dialect: StoreDialect,
  ) {}

  /**
   * last_message moved to the batch's newest shown message beside the insert (`commit` sets it back if
   * that message is not stored). Only where the write takes no lease (MongoDB): on FerretDB it holds
   * the conversation's Redis lease, and a process killed after its insert but before that write ends
   * would block the conversation's sends until the lease expires; there `commit` writes it after.
   */
  async storing(_tenantId: TenantId, conversationId: string, reserved: MessageRecord[]): Promise<Announced | undefined> {
    const last = lastShown(reserved);
    if (!last || this.dialect.leasedWrites) return undefined;
    try {
      await this.conversations.setLastMessage(conversationId, lastMessageOf(last), last.created_at);
      return { last };
    } catch (err) {
      return { last, failed: err ?? new Error('last_message write failed') };
    }
  }

  async commit(tenantId: TenantId, conversationId: string, committed: MessageRecord[], note?: unknown, turn?: Promise<void>): Promise<void> {
    const sorted = [...committed].sort((a, b) => a.seq - b.seq);
    const announced = note as Announced | undefined;
    const last = lastShown(sorted);
    const replyCounts = new Map<string, number>();
    for (const m of sorted) if (m.thread.parent_id) replyCounts.set(m.thread.parent_id, (replyCounts.get(m.thread.parent_id) ?? 0) + 1);
    const setLastMessage = async () => {
      if (!last) return;
      await this.conversations.setLastMessage(conversationId, lastMessageOf(last), last.created_at);
    };
    // Without `storing` (or when it had nothing to show) last_message is written here; else only repaired.
    const lastMessageStep = !announced ? setLastMessage : last?._id.equals(announced.last._id) ? null : () => this.repairLastMessage(conversationId, announced.last);
    const [lastMessage, ...parents] = await Promise.allSettled([
      lastMessageStep?.(),
      ...[...replyCounts].map(async ([parentId, n]) => this.messages.incReplyCount(conversationId, parentId, n, new Date(), await nextChange(this.conversations, conversationId))),
    ]);
    if (replyCounts.size) await this.recentCache.changed(conversationId).catch(() => undefined);
    // The writes above ran beside the previous batch's; its events go out first.
    await turn;
    for (const m of sorted) this.events.emit('message.created', { tenantId, conversationId, message: asRecord(toMessageView(m)) });
    if (lastMessage.status === 'rejected') this.retryApart(`last_message of conversation ${conversationId}`, lastMessage.reason, lastMessageStep!);
    else if (!lastMessageStep && announced?.failed) this.retryApart(`last_message of conversation ${conversationId}`, announced.failed, setLastMessage);
    for (const p of parents) {
      if (p.status === 'fulfilled' && p.value) this.events.emit('message.updated', { tenantId, conversationId, message: asRecord(toMessageView(p.value)) });
      // Not retried: an $inc whose answer was lost may have been applied (a retry could count twice).
      else if (p.status === 'rejected') this.logger.error(`reply count of a thread in conversation ${conversationId} not updated: ${(p.reason as Error)?.message}`);
    }
  }

  /**
   * last_message was set to `lost`, which was not stored (insert failed, or a retry's duplicate):
   * if it still points there, it goes back to the newest stored message shown in the list (or none).
   */
  private async repairLastMessage(conversationId: string, lost: MessageRecord): Promise<void> {
    let replacement: MessageRecord | undefined;
    for (let before: number | undefined = undefined; ; ) {
      const page = await this.messages.page(conversationId, { beforeSeq: before, limit: FALLBACK_PAGE });
      // The lost seq holds a gap tombstone by now; a retry's original (same _id, its own seq) may be the answer.
      replacement = page.find((m) => !m.gap && !isHandshake(m.content));
      if (replacement || page.length < FALLBACK_PAGE) break;
      before = page[page.length - 1]!.seq;
    }
    const changed = await this.conversations.replaceLastMessage(conversationId, String(lost._id), replacement ? lastMessageOf(replacement) : null);
    if (changed) this.logger.warn(`last_message of conversation ${conversationId} set back from unstored seq ${lost.seq} to ${replacement?.seq ?? 'none'}`);
  }

  /** Runs an idempotent follow-up write again in the background (timers keep the tenant context) until it succeeds. */
  private retryApart(what: string, error: unknown, step: () => Promise<unknown>, attempt = 1): void {
    if (attempt > FOLLOW_UP_RETRIES) {
      this.logger.error(`${what}: giving up after ${FOLLOW_UP_RETRIES} retries (${(error as Error)?.message ?? String(error)})`);
      return;
    }
    this.logger.warn(`${what} failed (${(error as Error)?.message ?? String(error)}); retry ${attempt}/${FOLLOW_UP_RETRIES}`);
    setTimeout(
      () => void step().catch((err: unknown) => this.retryApart(what, err, step, attempt + 1)),
      FOLLOW_UP_FIRST_DELAY_MS * 2 ** (attempt - 1),
    ).unref();
  }
}

const asRecord = (v: unknown) => v as Record<string, unknown>;

/** The newest message a conversation list shows: MLS commits travel in the stream but are not shown as the last message. */
function lastShown(sorted: MessageRecord[]): MessageRecord | undefined {
  return sorted.filter((m) => !isHandshake(m.content)).pop();
}

const lastMessageOf = (m: MessageRecord): LastMessageDoc => ({
  content_preview: m.preview,
  sender_id: m.sender_id,
  sent_at: m.created_at,
  seq: m.seq,
  message_id: String(m._id),
});
