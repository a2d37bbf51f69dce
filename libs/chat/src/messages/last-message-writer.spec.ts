import type { AppConfig } from '@chat/config';
import { asTenantId } from '@chat/tenancy';
import type { LastMessageDoc } from '../conversations/conversation.schema';
import type { ConversationsRepository, LastMessageWrite } from '../conversations/conversations.repository';
import { PendingConversationWrites } from '../conversations/pending-conversation-writes';
import { LastMessageWriter } from './last-message-writer';

const T = asTenantId('0123456789abcdef01234567');
const C = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const lm = (seq: number): LastMessageDoc => ({ content_preview: null, sender_id: 'u', sent_at: new Date(seq), seq, message_id: `m${seq}` });

/**
 * A repository whose setLastMessages calls (one per command the writer sends) wait until the test
 * answers them: `answer()` writes them all, `answer(err)` fails the command, `answer(undefined, [i])` fails
 * only the i-th statements. `seq` is the first conversation's (the tests of one conversation read it).
 */
function heldRepo() {
  const calls: Array<{ seq: number; writes: LastMessageWrite[]; answer: (err?: Error, failing?: number[]) => void }> = [];
  const repo = {
    setLastMessages: (writes: LastMessageWrite[]) =>
      new Promise<PromiseSettledResult<void>[]>((resolve, reject) =>
        calls.push({
          seq: writes[0]!.last?.seq ?? 0,
          writes,
          answer: (err, failing = []) =>
            err
              ? reject(err)
              : resolve(writes.map((_, i) => (failing.includes(i) ? { status: 'rejected', reason: new Error('statement failed') } : { status: 'fulfilled', value: undefined }))),
        }),
      ),
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

  it('a flush writes every waiting conversation in one command; what comes meanwhile goes in the next, when it ends', async () => {
    const { repo, calls } = heldRepo();
    const pending = new PendingConversationWrites();
    const writer = new LastMessageWriter(repo, pending);
    const [A, B, C2, D] = ['a', 'b', 'c', 'd'].map((c) => c.repeat(24));
    writer.write(T, A!, lm(1), 1);
    writer.write(T, B!, lm(5), 5);
    await turn();
    // Both conversations of the tick in one command.
    expect(calls.map((c) => c.writes.map((w) => [w.conversationId, w.lastSeq]))).toEqual([[[A, 1], [B, 5]]]);
    writer.write(T, A!, lm(2), 2);
    writer.write(T, C2!, lm(7), 7);
    writer.write(T, D!, null, 9);
    await turn();
    // No second command while the first runs.
    expect(calls).toHaveLength(1);
    calls[0]!.answer();
    await until(() => calls.length === 2);
    expect(calls[1]!.writes.map((w) => [w.conversationId, w.last?.seq ?? null, w.lastSeq]).sort()).toEqual([
      [A, 2, 2],
      [C2, 7, 7],
      [D, null, 9],
    ]);
    calls[1]!.answer();
    await writer.drain(1000);
    expect(writer.size).toBe(0);
  });

  it('one failing statement: the others are written; the failing conversation is retried alone', async () => {
    const { repo, calls } = heldRepo();
    const pending = new PendingConversationWrites();
    const writer = new LastMessageWriter(repo, pending);
    writer.retry = { attempts: 2, firstDelayMs: 0 };
    const readyCount = () => (writer as unknown as { ready: Set<unknown> }).ready.size;
    const [A, B, C2] = ['a', 'b', 'c'].map((c) => c.repeat(24));
    writer.write(T, A!, lm(1), 1);
    writer.write(T, B!, lm(2), 2);
    writer.write(T, C2!, lm(3), 3);
    await turn();
    expect(calls).toHaveLength(1);
    writer.write(T, A!, lm(4), 4);
    const readB = pending.settled(T, [B!]);
    calls[0]!.answer(undefined, [1]);
    // The read of B waited for the attempt and goes on (it shows what is stored); A's next value is written at once.
    await readB;
    await until(() => calls.length === 2);
    expect(calls[1]!.writes.map((w) => w.conversationId)).toEqual([A]);
    expect(pending.has(T, C2!)).toBe(false);
    // While A's command runs, B's retry comes due and C's next value arrives: the next flush takes both, B in a command of its own.
    writer.write(T, C2!, lm(5), 5);
    await until(() => readyCount() === 2);
    calls[1]!.answer();
    await until(() => calls.length === 4);
    expect(calls.slice(2).map((c) => c.writes.map((w) => [w.conversationId, w.last?.seq])).sort()).toEqual([[[B, 2]], [[C2, 5]]]);
    calls[2]!.answer();
    calls[3]!.answer();
    await writer.drain(1000);
    expect(writer.size).toBe(0);
  });

  it('conversations of different tenants go in different commands', async () => {
    const { repo, calls } = heldRepo();
    const writer = new LastMessageWriter(repo, new PendingConversationWrites());
    const T2 = asTenantId('0123456789abcdef01234568');
    writer.write(T, C, lm(1), 1);
    writer.write(T2, C, lm(2), 2);
    await turn();
    expect(calls.map((c) => c.seq).sort()).toEqual([1, 2]);
    calls.forEach((c) => c.answer());
    await writer.drain(1000);
  });

  it('with a window (LAST_MESSAGE_WINDOW_MS), a flush starts that long after the previous one started; the first at once', async () => {
    jest.useFakeTimers();
    try {
      const { repo, calls } = heldRepo();
      const writer = new LastMessageWriter(repo, new PendingConversationWrites(), { LAST_MESSAGE_WINDOW_MS: 50 } as AppConfig);
      const [A, B, C2] = ['a', 'b', 'c'].map((c) => c.repeat(24));
      writer.write(T, A!, lm(1), 1);
      await jest.advanceTimersByTimeAsync(0);
      expect(calls).toHaveLength(1);
      calls[0]!.answer();
      await jest.advanceTimersByTimeAsync(10);
      writer.write(T, B!, lm(2), 2);
      await jest.advanceTimersByTimeAsync(30);
      writer.write(T, C2!, lm(3), 3);
      await jest.advanceTimersByTimeAsync(9);
      expect(calls).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(calls.map((c) => c.writes.map((w) => w.conversationId))).toEqual([[A], [B, C2]]);
      calls[1]!.answer();
      await jest.advanceTimersByTimeAsync(0);
      expect(writer.size).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
