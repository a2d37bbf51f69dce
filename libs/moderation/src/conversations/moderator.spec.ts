import type { ConversationView } from '@chat/chat';
import type { Clock } from '@chat/clock';
import type { RedisService } from '@chat/redis';
import { AppError } from '@chat/errors';
import { isMuted } from './conversation-moderation.service';
import { requireModerator } from './moderator';
import { SlowModeTurns } from './slow-mode';

const conv = (type: ConversationView['type'] = 'group'): ConversationView => ({
  id: 'c1',
  type,
  metadata: { name: null, avatar: null, description: null },
  created_by: 'o',
  created_at: new Date(0).toISOString(),
  participants: (
    [
      ['o', 'owner'],
      ['o2', 'owner'],
      ['a', 'admin'],
      ['a2', 'admin'],
      ['m', 'member'],
    ] as const
  ).map(([user_id, role]) => ({ user_id, role, joined_at: new Date(0).toISOString(), joined_seq: 0, settings: { muted: false, pinned: false } })),
});
const p = (c: ConversationView, id: string) => c.participants.find((x) => x.user_id === id)!;
const user = (userId: string) => ({ kind: 'user' as const, userId });
/** The refusal's `code: message`, or null when allowed. */
function refusal(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    const { error } = (err as AppError).getResponse() as { error: { code: string; message: string } };
    return `${error.code}: ${error.message}`;
  }
}

describe('requireModerator', () => {
  it('lets owners act on admins and members, admins on members only, and no one on an equal or higher role', () => {
    const c = conv();
    expect(refusal(() => requireModerator(c, user('o'), p(c, 'a')))).toBeNull();
    expect(refusal(() => requireModerator(c, user('o'), p(c, 'm')))).toBeNull();
    expect(refusal(() => requireModerator(c, user('a'), p(c, 'm')))).toBeNull();
    expect(refusal(() => requireModerator(c, user('o'), p(c, 'o2')))).toMatch(/^forbidden: .*same or a higher role/);
    expect(refusal(() => requireModerator(c, user('a'), p(c, 'a2')))).toMatch(/^forbidden: .*same or a higher role/);
    expect(refusal(() => requireModerator(c, user('a'), p(c, 'o')))).toMatch(/^forbidden: .*same or a higher role/);
    expect(refusal(() => requireModerator(c, user('m')))).toMatch(/^forbidden: Only owners and admins/);
  });

  it('refuses non-members as not found and direct conversations; trusts the server and platform admins', () => {
    expect(refusal(() => requireModerator(conv(), user('stranger')))).toMatch(/^not_found: Conversation not found/);
    expect(refusal(() => requireModerator(conv('direct'), user('o')))).toMatch(/^forbidden: .*no moderators/);
    expect(refusal(() => requireModerator(conv(), { kind: 'server', keyId: 'k' }, p(conv(), 'o')))).toBeNull();
    expect(refusal(() => requireModerator(conv(), { kind: 'admin', adminId: 'x' }, p(conv(), 'o')))).toBeNull();
  });
});

describe('SlowModeTurns (in-process mode)', () => {
  it('gives one turn per interval per member and conversation, on the injected clock', async () => {
    let now = 1_000_000;
    const clock = { now: () => now } as Clock;
    const redis = { mode: 'memory', client: null, key: (...parts: Array<string | number>) => parts.join(':') } as unknown as RedisService;
    const turns = new SlowModeTurns(redis, clock);
    expect(await turns.take('t', 'c', 'u', 10)).toBe(0);
    expect(await turns.take('t', 'c', 'u', 10)).toBe(10_000);
    expect(await turns.take('t', 'c', 'other', 10)).toBe(0);
    expect(await turns.take('t', 'c2', 'u', 10)).toBe(0);
    now += 9_500;
    expect(await turns.take('t', 'c', 'u', 10)).toBe(500);
    now += 500;
    expect(await turns.take('t', 'c', 'u', 10)).toBe(0);
  });
});

describe('isMuted', () => {
  it('matches muted user ids only, never names every object inherits', () => {
    const state = JSON.parse(JSON.stringify({ frozen: false, slow_mode_seconds: 0, muted: { bob: null } }));
    expect(isMuted(state, 'bob')).toBe(true);
    for (const id of ['toString', 'constructor', 'hasOwnProperty', 'valueOf', 'alice']) expect(isMuted(state, id)).toBe(false);
  });
});
