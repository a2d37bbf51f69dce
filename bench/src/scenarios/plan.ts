import { splitRanges } from '../lib/schedule';

/**
 * What a scenario needs, before any server exists: users (by index), conversations (members by user
 * index), which users hold a socket, and the ordered list of senders the open-loop schedule cycles
 * through. Pure, so the shape of every scenario is unit-tested.
 */
export interface Plan {
  users: number;
  conversations: Array<{ type: 'direct' | 'group'; members: number[] }>;
  /** Sorted user indexes that open a socket. */
  socketUsers: number[];
  /** Sorted by user: sender s is senders[s]. */
  senders: Array<{ user: number; conversation: number }>;
  /** Recipients (other members) of every message. */
  fanout: number;
  /** Devices each envelope wraps the content key for (the conversation size). */
  payloadRecipients: number;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Scenario 1: `pairs` 1:1 conversations; both users of each pair send. */
export function directPlan(pairs: number): Plan {
  return {
    users: pairs * 2,
    conversations: range(pairs).map((p) => ({ type: 'direct' as const, members: [2 * p, 2 * p + 1] })),
    socketUsers: range(pairs * 2),
    senders: range(pairs * 2).map((u) => ({ user: u, conversation: u >> 1 })),
    fanout: 1,
    payloadRecipients: 2,
  };
}

/** Scenario 2: `groups` groups of `size` members; every member sends (each message fans out to size-1). */
export function groupPlan(groups: number, size: number): Plan {
  return {
    users: groups * size,
    conversations: range(groups).map((g) => ({ type: 'group' as const, members: range(size).map((i) => g * size + i) })),
    socketUsers: range(groups * size),
    senders: range(groups * size).map((u) => ({ user: u, conversation: Math.floor(u / size) })),
    fanout: size - 1,
    payloadRecipients: size,
  };
}

/**
 * Scenario 3: `connections` users, all connected, in groups of `groupSize` (presence of each reconnect
 * fans out to the group); the first `senders` users send now and then. Groups rather than 1:1 pairs
 * because setting up thousands of direct conversations through the API takes tens of minutes on
 * FerretDB (each one looks users and its direct key up by scanning).
 */
export function idlePlan(connections: number, senders: number, groupSize = 20): Plan {
  const size = Math.max(2, Math.min(groupSize, connections));
  const conversations: Plan['conversations'] = [];
  for (let first = 0; first < connections; first += size) {
    const members = range(Math.min(size, connections - first)).map((i) => first + i);
    // A last group of one would have nobody to talk to: it joins the group before it.
    if (members.length === 1 && conversations.length) conversations[conversations.length - 1]!.members.push(members[0]!);
    else conversations.push({ type: 'group', members });
  }
  const groupOf = new Map<number, number>();
  conversations.forEach((c, g) => c.members.forEach((u) => groupOf.set(u, g)));
  return {
    users: connections,
    conversations,
    socketUsers: range(connections),
    senders: range(Math.min(Math.max(0, senders), connections)).map((u) => ({ user: u, conversation: groupOf.get(u)! })),
    fanout: size - 1,
    payloadRecipients: size,
  };
}

/** Scenario 4: `conversations` 1:1 conversations filled by one member each (no one else connected), then read over REST. */
export function historyPlan(conversations: number): Plan {
  const base = directPlan(conversations);
  const senders = range(conversations).map((p) => ({ user: 2 * p, conversation: p }));
  return { ...base, socketUsers: senders.map((s) => s.user), senders, fanout: 0 };
}

export interface WorkerSlice {
  /** Index range into plan.socketUsers: this worker's sockets, in order. */
  socketFrom: number;
  socketTo: number;
  /** Sender index range [from, to). */
  from: number;
  to: number;
}

/** Splits sockets over workers and gives each worker the senders whose user it holds. */
export function sliceForWorkers(plan: Plan, workers: number): WorkerSlice[] {
  const ranges = splitRanges(plan.socketUsers.length, workers);
  return ranges.map(([socketFrom, socketTo]) => {
    const lo = plan.socketUsers[socketFrom] ?? Infinity;
    const hi = socketTo > socketFrom ? plan.socketUsers[socketTo - 1]! : -Infinity;
    let from = plan.senders.findIndex((s) => s.user >= lo);
    if (from < 0) from = plan.senders.length;
    let to = from;
    while (to < plan.senders.length && plan.senders[to]!.user <= hi) to++;
    return { socketFrom, socketTo, from, to };
  });
}

/** Conversation indexes each user belongs to (for baseline tokens and provisioning). */
export function conversationsOf(plan: Plan): number[][] {
  const out: number[][] = range(plan.users).map(() => []);
  plan.conversations.forEach((c, i) => c.members.forEach((u) => out[u]!.push(i)));
  return out;
}
