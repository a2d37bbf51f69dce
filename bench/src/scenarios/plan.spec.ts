import { conversationsOf, directPlan, groupPlan, historyPlan, idlePlan, sliceForWorkers } from './plan';

describe('scenario plans', () => {
  it('pairs users into 1:1 conversations where both send', () => {
    const p = directPlan(3);
    expect(p.users).toBe(6);
    expect(p.conversations[2]).toEqual({ type: 'direct', members: [4, 5] });
    expect(p.senders[5]).toEqual({ user: 5, conversation: 2 });
    expect(p.fanout).toBe(1);
  });

  it('builds groups whose messages fan out to every other member', () => {
    const p = groupPlan(2, 50);
    expect(p.users).toBe(100);
    expect(p.conversations[1]!.members).toHaveLength(50);
    expect(p.conversations[1]!.members[0]).toBe(50);
    expect(p.senders[73]).toEqual({ user: 73, conversation: 1 });
    expect(p.fanout).toBe(49);
    expect(p.payloadRecipients).toBe(50);
  });

  it('keeps idle connections mostly silent, in groups', () => {
    const p = idlePlan(5000, 20);
    expect(p.socketUsers).toHaveLength(5000);
    expect(p.senders).toHaveLength(20);
    expect(p.senders.every((s, i) => s.user === i && p.conversations[s.conversation]!.members.includes(i))).toBe(true);
    expect(p.conversations).toHaveLength(250);
    expect(p.conversations.every((c) => c.type === 'group' && c.members.length === 20)).toBe(true);
    expect(p.fanout).toBe(19);
    // Every user in exactly one group; a would-be group of one joins the one before.
    const odd = idlePlan(41, 3, 10);
    expect(odd.conversations.map((c) => c.members.length)).toEqual([10, 10, 10, 11]);
    expect(odd.conversations.flatMap((c) => c.members).sort((a, b) => a - b)).toEqual(Array.from({ length: 41 }, (_, i) => i));
  });

  it('fills history with one connected sender per conversation', () => {
    const p = historyPlan(4);
    expect(p.socketUsers).toEqual([0, 2, 4, 6]);
    expect(p.senders.map((s) => s.conversation)).toEqual([0, 1, 2, 3]);
    expect(p.fanout).toBe(0);
  });

  it('gives each worker the senders whose sockets it holds', () => {
    const p = idlePlan(10, 3);
    const slices = sliceForWorkers(p, 2);
    expect(slices).toEqual([
      { socketFrom: 0, socketTo: 5, from: 0, to: 3 },
      { socketFrom: 5, socketTo: 10, from: 3, to: 3 },
    ]);
    const h = sliceForWorkers(historyPlan(5), 2);
    expect(h).toEqual([
      { socketFrom: 0, socketTo: 3, from: 0, to: 3 },
      { socketFrom: 3, socketTo: 5, from: 3, to: 5 },
    ]);
    const all = sliceForWorkers(groupPlan(3, 4), 3);
    expect(all.map((s) => [s.from, s.to])).toEqual([
      [0, 4],
      [4, 8],
      [8, 12],
    ]);
  });

  it('lists the conversations of every user', () => {
    expect(conversationsOf(groupPlan(2, 2))).toEqual([[0], [0], [1], [1]]);
  });
});
