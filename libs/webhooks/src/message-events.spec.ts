import { replyCountTrace } from '@chat/chat';
import { eventTrace } from '@chat/database';
import { messageUpdatedKey, replyCountData } from './message-events';

describe('replyCountData', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 11, 6, 1, 0, s));

  it("gives each traced reply count change the count right after it, from the message's current count", () => {
    const t1 = replyCountTrace('c1', 'root', 2, at(1));
    const reaction = eventTrace('reaction.new', { message_id: 'root' }, at(2));
    const t2 = replyCountTrace('c1', 'root', -1, at(3));
    const t3 = replyCountTrace('c1', 'root', 1, at(4));
    const data = replyCountData({ _id: 'root', conversation_id: 'c1', seq: 7, sender_id: 'alice', edited_at: at(2), thread: { parent_id: null, reply_count: 3 }, event_trace: [t1, reaction, t2, t3] });
    // 3 now; before t3 (+1) it was 2; before t2 (-1) it was 3.
    expect(data.get(t1)).toEqual({ message_id: 'root', conversation_id: 'c1', seq: 7, sender_id: 'alice', edited_at: null, thread_parent_id: null, reply_count: 3 });
    expect(data.get(t2)).toMatchObject({ reply_count: 2, edited_at: at(2).toISOString() });
    expect(data.get(t3)).toMatchObject({ reply_count: 3 });
    expect(data.has(reaction)).toBe(false);
  });

  it('names the event as the fast path does (the root and the updated_at it sets)', () => {
    expect(replyCountTrace('c1', 'root', 1, at(5)).key).toBe(messageUpdatedKey('root', at(5).toISOString()));
  });
});
