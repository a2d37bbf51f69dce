import { Logger } from '@nestjs/common';
import { Clock, SystemClock } from '@chat/clock';
import type { MessageRecord } from './message.schema';
import { MessageView, toMessageView } from './message.view';
import type { MessagesRepository } from './messages.repository';

/** Who reads: a member, with the seq their (latest) membership started after. */
export interface StreamViewer {
  userId: string;
  joinedSeq: number;
}

/**
 * A seq of the asked range that holds no message for this reader. `pending`: reserved, its write may
 * still be in flight (ask again after retry_after_ms; it becomes a message or a gap tombstone).
 * `hidden`: a message sent while the reader was not a member (no key for them): skip it.
 */
export interface SeqHole {
  seq: number;
  state: 'pending' | 'hidden';
}

export interface StreamEnd {
  last_seq: number;
  last_reserved_at?: Date | null;
  last_change_seq?: number;
}

export interface StreamPage {
  /** Messages of (after_seq, next_after_seq], in seq order; gap tombstones included (gap: true). */
  messages: MessageView[];
  /** Every seq of (after_seq, next_after_seq] not in `messages` (hidden), then the pending ones after it. */
  holes: SeqHole[];
  /** Every seq up to here is answered: continue after it. */
  next_after_seq: number;
  has_more: boolean;
  /** With pending holes: when asking again can answer them (the seq is then stored or filled). */
  retry_after_ms?: number;
}

export interface ChangesPage {
  /** Current state of messages changed after the position (edits, tombstones of deletes, reactions). */
  changes: MessageView[];
  /** Send this as after_change next time. */
  next_after_change: number;
  changes_has_more: boolean;
}

/** A seq is only ever filled by one writer; readers fill at most this many abandoned seqs per read. */
const MAX_FILLS_PER_READ = 100;
const MAX_PENDING_LISTED = 100;
/** Sender of a gap tombstone written by a reader for a seq whose writer is gone (unknown). */
export const ABANDONED_SEQ_SENDER = '';

/**
 * Which of these messages were re-shared to the user (history key shares, libs/keys). `v2Ids`: the
 * E2E v2 ones among them, readable by a later member when the conversation's history visibility is
 * `shared` (the keys travel in history bundles, libs/mls-history).
 */
export type SharedWith = (conversationId: string, userId: string, messageIds: string[], v2Ids: string[]) => Promise<Set<string>>;

/**
 * False for ciphertext sent while the viewer was not a member: at or before the seq their membership
 * started, without a wrapped key for them (it may still have been re-shared to them: see hiddenIds).
 * Tombstones, their own messages and everything after they joined are true.
 */
export function keyedFor(m: Pick<MessageView, 'seq' | 'sender_id' | 'content'>, viewer: StreamViewer): boolean {
  if (m.seq > viewer.joinedSeq || !m.content || m.sender_id === viewer.userId) return true;
  return (m.content.encrypted_key ?? []).some((k) => k.user_id === viewer.userId);
}

/** The ids among `messages` the viewer may not see: no key in the envelope and no history share. */
export async function hiddenIds(conversationId: string, messages: MessageView[], viewer: StreamViewer, sharedWith: SharedWith): Promise<Set<string>> {
  const hidden = messages.filter((m) => !keyedFor(m, viewer));
  if (!hidden.length) return new Set();
  const candidates = hidden.map((m) => m.id);
  const v2Ids = hidden.filter((m) => (m.content as { version?: unknown }).version === 2).map((m) => m.id);
  const shared = await sharedWith(conversationId, viewer.userId, candidates, v2Ids);
  return new Set(candidates.filter((id) => !shared.has(id)));
}

/**
 * Reading a conversation's message stream by seq and by change position, so a client can always
 * tell what it has: every seq of an answered range is a message, a gap tombstone or an explicit hole.
 * A seq reserved by a writer that died (kill -9 between reserving and storing) is filled with a gap
 * tombstone by the first reader that finds it older than the grace period.
 */
export class MessageStream {
  private readonly logger = new Logger('MessageStream');

  constructor(
    private readonly repo: MessagesRepository,
    private readonly graceMs: number,
    /** After a reader filled seqs up to `lastSeq` (cached pages must go; the durable end of the stream covers them). */
    private readonly onFilled: (conversationId: string, lastSeq: number) => Promise<void>,
    private readonly sharedWith: SharedWith,
    /** The conversation's highest reserved seq and when it was last reserved (null: no such conversation). */
    private readonly streamEnd: (conversationId: string) => Promise<StreamEnd | null>,
    /** What ages holes and changes against the grace period (the app's Clock, so tests set the time). */
    private readonly clock: Clock = new SystemClock(),
  ) {}

  /** Where the conversation's stream ends now: its last reserved seq and change position (one look-up by _id). */
  end(conversationId: string): Promise<StreamEnd | null> {
    return this.streamEnd(conversationId);
  }

  /** The messages the viewer may see (see hiddenIds). */
  async visible(conversationId: string, messages: MessageView[], viewer: StreamViewer): Promise<MessageView[]> {
    const hidden = await hiddenIds(conversationId, messages, viewer, this.sharedWith);
    return hidden.size ? messages.filter((m) => !hidden.has(m.id)) : messages;
  }

  /** Seqs after `afterSeq` (below `beforeSeq` when given), oldest first, at most `limit` messages. */
  async range(
    conversationId: string,
    viewer: StreamViewer,
    afterSeq: number,
    beforeSeq: number | undefined,
    limit: number,
    fill = true,
    known?: StreamEnd | null,
  ): Promise<StreamPage> {
    // Read first, by _id (index-served on every store, FerretDB included): a seq is reserved before its
    // message is written, so nothing reserved after `afterSeq` means nothing to read. Most syncs of a
    // reconnect storm are such, and on FerretDB the message query they skip filters by scanning.
    const tail = known === undefined ? await this.streamEnd(conversationId) : known;
    if (!tail || tail.last_seq <= afterSeq) return { messages: [], holes: [], next_after_seq: afterSeq, has_more: false };
    const end = beforeSeq ?? Number.POSITIVE_INFINITY;
    // One row more than asked: the row after a missing seq tells how old the hole is.
    const rows = await this.repo.page(conversationId, { afterSeq, limit: limit + 1 });
    const now = this.clock.now();
    const kept: MessageRecord[] = [];
    const abandoned: number[] = [];
    // Typed by a cast: assigned in the closure below, which the compiler's narrowing does not follow.
    let pending = null as { from: number; to: number; retryMs: number } | null;
    let more = false;
    let expected = afterSeq + 1;
    /** Seqs from..to hold nothing and were reserved `ageMs` ago or earlier; false: stop the page here. */
    const missing = (from: number, to: number, ageMs: number): boolean => {
      if (ageMs <= this.graceMs || !fill) {
        pending = { from, to, retryMs: Math.max(100, this.graceMs - ageMs) };
        return false;
      }
      for (let s = from; s <= to && abandoned.length < MAX_FILLS_PER_READ; s++) abandoned.push(s);
      return abandoned[abandoned.length - 1]! >= to; // the rest on a later read
    };
    let consumed = true;
    for (const r of rows) {
      const stop = Math.min(r.seq, end);
      // r's seq was reserved after the missing ones; r itself was submitted at created_at.
      if (expected < stop && !missing(expected, stop - 1, now - new Date(r.created_at).getTime())) {
        consumed = false;
        break;
      }
      expected = Math.max(expected, stop);
      if (r.seq >= end || kept.length >= limit) {
        more = r.seq < end;
        consumed = false;
        break;
      }
      kept.push(r);
      expected = r.seq + 1;
    }
    if (consumed && expected < end) {
      // Seqs after the last stored message have no later row to date them: the conversation's last
      // reservation does (a crash right after reserving leaves them at the end, counted as unread).
      const last = Math.min(tail.last_seq, end - 1);
      if (last >= expected) missing(expected, last, tail.last_reserved_at ? now - new Date(tail.last_reserved_at).getTime() : Number.POSITIVE_INFINITY);
    }
    if (abandoned.length) {
      await this.fillAbandoned(conversationId, abandoned);
      // Read again: the seqs now hold our fillers, or the late messages that beat them.
      return this.range(conversationId, viewer, afterSeq, beforeSeq, limit, false);
    }
    const messages: MessageView[] = [];
    const holes: SeqHole[] = [];
    const views = kept.map(toMessageView);
    const hidden = await hiddenIds(conversationId, views, viewer, this.sharedWith);
    for (const v of views) {
      if (hidden.has(v.id)) holes.push({ seq: v.seq, state: 'hidden' });
      else messages.push(v);
    }
    if (pending) {
      for (let s = pending.from; s <= pending.to && s < pending.from + MAX_PENDING_LISTED; s++) holes.push({ seq: s, state: 'pending' });
    }
    const page: StreamPage = {
      messages,
      holes,
      next_after_seq: kept.length ? kept[kept.length - 1]!.seq : afterSeq,
      has_more: more || pending !== null,
    };
    if (pending) page.retry_after_ms = pending.retryMs;
    return page;
  }

  /**
   * Messages changed after `afterChange` among seqs up to `upToSeq`, in change order. The returned
   * position only moves past changes older than the grace period: a change position is taken before
   * its message is written, so a younger one may still be missing below it. Younger changes come again
   * next time (applying a message's current state twice is harmless).
   */
  async changes(conversationId: string, viewer: StreamViewer, afterChange: number, upToSeq: number, limit: number, lastChange?: number): Promise<ChangesPage> {
    // No change position taken after the client's (lastChange, when the caller read it): nothing to read.
    if (lastChange !== undefined && lastChange <= afterChange) return { changes: [], next_after_change: afterChange, changes_has_more: false };
    const rows = upToSeq > 0 ? await this.repo.changes(conversationId, afterChange, upToSeq, limit) : [];
    const settledBefore = this.clock.now() - this.graceMs;
    let next = afterChange;
    for (const r of rows) {
      if (new Date(r.updated_at).getTime() < settledBefore) next = Math.max(next, r.change_seq ?? 0);
    }
    const changes = await this.visible(conversationId, rows.map(toMessageView), viewer);
    return { changes, next_after_change: next, changes_has_more: rows.length === limit && next > afterChange };
  }

  private async fillAbandoned(conversationId: string, seqs: number[]): Promise<void> {
    // A seq already taken (the late message, another reader's filler) is skipped by the insert.
    const filled = await this.repo.insertGaps(conversationId, seqs, ABANDONED_SEQ_SENDER, new Date()).catch((err: Error) => {
      this.logger.error(`could not fill abandoned seqs ${seqs[0]}-${seqs[seqs.length - 1]} of conversation ${conversationId}: ${err.message}`);
      return 0;
    });
    if (filled) {
      this.logger.warn(`filled ${filled} abandoned seq(s) of conversation ${conversationId} with gap tombstones`);
      await this.onFilled(conversationId, seqs[seqs.length - 1]!);
    }
  }
}
