import type { RedisService } from '@chat/redis';
import { RateLimiter } from './rate-limiter';

const memory = { mode: 'memory', client: null } as unknown as RedisService;

describe('RateLimiter (in-process mode)', () => {
  // In-process windows read Date.now(): fake timers make time pass only when the test says so.
  beforeEach(() => jest.useFakeTimers({ now: Date.now() }));
  afterEach(() => jest.useRealTimers());

  it('fixed window: consumes up to the limit, refuses without consuming, resets after the window', async () => {
    const rl = new RateLimiter(memory);
    expect((await rl.consume('k', 2, 3, 50)).allowed).toBe(true);
    const refused = await rl.consume('k', 2, 3, 50);
    expect(refused).toMatchObject({ allowed: false, count: 2 });
    expect(refused.resetMs).toBeGreaterThan(0);
    expect((await rl.consume('k', 1, 3, 50)).allowed).toBe(true);
    expect(await rl.peek('k')).toBe(3);
    jest.advanceTimersByTime(49);
    expect(await rl.peek('k')).toBe(3);
    jest.advanceTimersByTime(1);
    expect(await rl.peek('k')).toBe(0);
    expect((await rl.consume('k', 3, 3, 50)).allowed).toBe(true);
    await rl.reset('k');
    expect(await rl.peek('k')).toBe(0);
  });

  it('member sets: bounded, idempotent per member, stale members expire', async () => {
    const rl = new RateLimiter(memory);
    expect((await rl.acquireMember('c', 'a', 2, 40)).allowed).toBe(true);
    expect((await rl.acquireMember('c', 'b', 2, 40)).allowed).toBe(true);
    expect((await rl.acquireMember('c', 'a', 2, 40)).allowed).toBe(true);
    expect((await rl.acquireMember('c', 'x', 2, 40)).allowed).toBe(false);
    jest.advanceTimersByTime(25);
    await rl.refreshMembers('c', ['a'], 40);
    jest.advanceTimersByTime(25);
    // b went stale (not refreshed); a is still live.
    expect(await rl.countMembers('c', 40)).toBe(1);
    expect((await rl.acquireMember('c', 'x', 2, 40)).allowed).toBe(true);
    await rl.releaseMember('c', 'a');
    expect(await rl.countMembers('c', 40)).toBe(1);
  });
});
