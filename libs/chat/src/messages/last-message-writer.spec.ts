import { asTenantId } from '@chat/tenancy';
import type { LastMessageDoc } from '../conversations/conversation.schema';
import type { ConversationsRepository } from '../conversations/conversations.repository';
import { PendingConversationWrites } from '../conversations/pending-conversation-writes';
import { LastMessageWriter } from './last-message-writer';

const T = asTenantId('0123456789abcdef01234567');
const C = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const lm = (seq: number): LastMessageDoc => ({ content_preview: null, sender_id: 'u', sent_at: new Date(seq), seq, message_id: `m${seq}` });

/** A repository whose setLastMessage calls wait until the test answers them. */
function heldRepo() {
  const calls: Array<{ seq: number; answer: (err?: Error) => void }> = [];
  const repo = {
    setLastMessage: (_id: string, last: LastMessageDoc) =>
      new Promise<boolean>((resolve, reject) => calls.push({ seq: last.seq, answer: (err) => (err ? reject(err) : resolve(true)) })),
  } as unknown as ConversationsRepository;
  return { repo, calls };
}

const turn = () => new Promise((r) => setImmediate(r));
/** Event-loop turns until `cond` holds (the writer's retries wait on 0 ms timers here, which each turn runs). */
const until = async (cond: () => boolean) => {
  while (!cond()) await turn();
};

describe('LastMessageWriter', () => {
  it('one write per conversation in flight; values sent meanwhile coalesce into the next, newest seq wins', async () => {
    const { repo, calls } = heldRepo();
    const pending = new PendingConversationWrites();
    const writer = new LastMessageWriter(repo, pending);
    writer.write(T, C, lm(1), 1);
    await turn();
    writer.write(T, C, lm(3), 3);
    writer.write(T, C, lm(2), 2);
    await turn();
    expect(calls.map((c) => c.seq)).toEqual([1]);
    calls[0]!.answer();
    await turn();
    expect(calls.map((c) => c.seq)).toEqual([1, 3]);
    expect(pending.has(T, C)).toBe(true);
    calls[1]!.answer();
    await writer.drain(1000);
    expect(writer.size).toBe(0);
    expect(pending.has(T, C)).toBe(false);
  });

  it('a read waits for the write covering what was promised when it asked, not for later ones', async () => {
    const { repo, calls } = heldRepo();
    const pending = new PendingConversationWrites();
    const writer = new LastMessageWriter(repo, pending);
    writer.write(T, C, lm(1), 1);
    await turn();
    writer.write(T, C, lm(2), 2);
    let read = false;
    const r = pending.settled(T, [C]).then(() => (read = true));
    writer.write(T, C, lm(3), 3);
    calls[0]!.answer();
    await until(() => calls.length === 2);
    // The read asked while seq 1 was written and 2 was promised: it waits for the write taking 2 (3 joined it).
    expect(read).toBe(false);
    expect(calls[1]!.seq).toBe(3);
    calls[1]!.answer();
    await r;
    // A conversation of another tenant or no pending write: nothing to wait for.
    await pending.settled(asTenantId('0123456789abcdef01234568'));
    await pending.settled(T, ['bbbbbbbbbbbbbbbbbbbbbbbb']);
  });

  it('a failed write is retried with the newest value; the read waiting for it goes on', async () => {
    const { repo, calls } = heldRepo();
    const pending = new PendingConversationWrites();
    const writer = new LastMessageWriter(repo, pending);
    writer.retry = { attempts: 2, firstDelayMs: 0 };
    writer.write(T, C, lm(1), 1);
    await turn();
    const r = pending.settled(T, [C]);
    calls[0]!.answer(new Error('connection closed'));
    await r;
    await until(() => calls.length === 2);
    expect(calls.map((c) => c.seq)).toEqual([1, 1]);
    writer.write(T, C, lm(2), 2);
    calls[1]!.answer(new Error('connection closed'));
    await until(() => calls.length === 3);
    expect(calls.map((c) => c.seq)).toEqual([1, 1, 2]);
    // Third failure of the conversation in a row: given up (logged), the writer is idle again.
    calls[2]!.answer(new Error('connection closed'));
    await writer.drain(1000);
    expect(writer.size).toBe(0);
    expect(calls).toHaveLength(3);
  });
});
