import { Types } from 'mongoose';
import type { StoreDialect } from '@chat/database';
import { asTenantId } from '@chat/tenancy';
import type { ConversationsRepository } from '../conversations/conversations.repository';
import type { ChatEventBus } from '../events/chat-events';
import { MessageCommitEffects } from './message-commit-effects';
import type { MessageRecord } from './message.schema';
import type { MessagesRepository } from './messages.repository';
import type { RecentMessagesCache } from './recent-messages';

const T = asTenantId('t');
const CONV = new Types.ObjectId().toHexString();

function message(seq: number): MessageRecord {
  return {
    _id: new Types.ObjectId(),
    tenant_id: T,
    conversation_id: CONV,
    sender_id: 'u',
    client_msg_id: `m${seq}`,
    seq,
    content: null,
    preview: `p${seq}`,
    thread: { parent_id: null, reply_count: 0 },
    gap: false,
    created_at: new Date(),
  } as unknown as MessageRecord;
}

/** Stubs the step's stores; `stored` is what the messages collection holds. */
function effects(dialect: 'mongodb' | 'ferretdb', stored: MessageRecord[]) {
  const lastMessage: { value: { seq: number; message_id: string } | null } = { value: null };
  const writes: string[] = [];
  const conversations = {
    setLastMessage: async (_c: string, lm: { seq: number; message_id: string }) => {
      writes.push(`set ${lm.seq}`);
      if (!lastMessage.value || lastMessage.value.seq < lm.seq) lastMessage.value = lm;
      return true;
    },
    replaceLastMessage: async (_c: string, id: string, lm: { seq: number; message_id: string } | null) => {
      writes.push(`replace ${lm?.seq ?? 'none'}`);
      if (lastMessage.value?.message_id !== id) return false;
      lastMessage.value = lm;
      return true;
    },
  } as unknown as ConversationsRepository;
  const messages = {
    page: async () => [...stored].sort((a, b) => b.seq - a.seq),
  } as unknown as MessagesRepository;
  const emitted: number[] = [];
  const events = { emit: (_n: string, e: { message: { seq: number } }) => void emitted.push(e.message.seq) } as unknown as ChatEventBus;
  const step = new MessageCommitEffects(conversations, messages, { changed: async () => undefined } as unknown as RecentMessagesCache, events, {
    leasedWrites: dialect !== 'mongodb',
  } as StoreDialect);
  return { step, lastMessage, writes, emitted };
}

describe('MessageCommitEffects', () => {
  it('on MongoDB writes last_message beside the insert, and not again after it', async () => {
    const m = message(1);
    const { step, lastMessage, writes, emitted } = effects('mongodb', [m]);
    const note = await step.storing(T, CONV, [m]);
    expect(lastMessage.value?.seq).toBe(1);
    await step.commit(T, CONV, [m], note);
    expect(writes).toEqual(['set 1']);
    expect(emitted).toEqual([1]);
  });

  it('sets last_message back when the message it announced was not stored', async () => {
    const older = message(1);
    const lost = message(2);
    const { step, lastMessage, writes, emitted } = effects('mongodb', [older]);
    const note = await step.storing(T, CONV, [lost]);
    expect(lastMessage.value?.seq).toBe(2);
    await step.commit(T, CONV, [], note);
    expect(writes).toEqual(['set 2', 'replace 1']);
    expect(lastMessage.value).toMatchObject({ seq: 1, message_id: String(older._id) });
    expect(emitted).toEqual([]);
  });

  it('on FerretDB writes last_message after the insert (no lease in flight beside it)', async () => {
    const m = message(1);
    const { step, writes } = effects('ferretdb', [m]);
    const note = await step.storing(T, CONV, [m]);
    expect(writes).toEqual([]);
    await step.commit(T, CONV, [m], note);
    expect(writes).toEqual(['set 1']);
  });

  it('raises its events only when the turn of the previous batch is over', async () => {
    const m = message(2);
    const { step, writes, emitted } = effects('ferretdb', [m]);
    let previousDone!: () => void;
    const turn = new Promise<void>((r) => (previousDone = r));
    const committing = step.commit(T, CONV, [m], undefined, turn);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(writes).toEqual(['set 2']);
    expect(emitted).toEqual([]);
    previousDone();
    await committing;
    expect(emitted).toEqual([2]);
  });
});
