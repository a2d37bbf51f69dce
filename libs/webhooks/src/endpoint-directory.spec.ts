import { Clock } from '@chat/clock';
import type { RedisService } from '@chat/redis';
import { EndpointDirectory } from './endpoint-directory';
import type { WebhookEndpointsRepository } from './endpoints.repository';

class HeldClock extends Clock {
  t = 1_000_000;
  now(): number {
    return this.t;
  }
}

/** Two nodes sharing one Redis (a map) and one endpoints collection (a list of tenants). */
function world() {
  const store = new Map<string, string>();
  const redis = {
    key: (...parts: string[]) => parts.join(':'),
    client: {
      get: async (k: string) => store.get(k) ?? null,
      incr: async (k: string) => {
        store.set(k, String(Number(store.get(k) ?? '0') + 1));
        return Number(store.get(k));
      },
    },
  } as unknown as RedisService;
  let tenants: string[] = [];
  let reads = 0;
  const repo = {
    tenantsWithActiveEndpoints: async () => {
      reads++;
      return [...tenants];
    },
  } as unknown as WebhookEndpointsRepository;
  const clock = new HeldClock();
  const node = () => new EndpointDirectory(repo, redis, clock);
  return { node, clock, setTenants: (t: string[]) => (tenants = t), reads: () => reads };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('EndpointDirectory', () => {
  it('reads the endpoints once, then only when a change is announced (on any node)', async () => {
    const w = world();
    const a = w.node();
    const b = w.node();
    expect([...(await a.tenants())]).toEqual([]);
    expect([...(await b.tenants())]).toEqual([]);
    expect(w.reads()).toBe(2);
    // No change: checked against the shared version, not re-read.
    for (let i = 0; i < 5; i++) {
      w.clock.t += 300;
      expect(await a.has('t1')).toBe(false);
    }
    expect(w.reads()).toBe(2);

    // An endpoint created on b: both know at once (a "no" is confirmed against the shared version).
    w.setTenants(['t1']);
    b.bump();
    await settle();
    expect(await b.has('t1')).toBe(true);
    expect(await a.has('t1')).toBe(true);
    // tenants() (the dispatcher's and sweeper's question) may lag by its re-check period.
    w.setTenants(['t1', 't3']);
    b.bump();
    await settle();
    expect([...(await a.tenants())]).toEqual(['t1']);
    w.clock.t += 300;
    expect([...(await a.tenants())]).toEqual(['t1', 't3']);
  });

  it('tells its listeners when another node changed an endpoint', async () => {
    const w = world();
    const a = w.node();
    const b = w.node();
    let changes = 0;
    a.onChange(() => changes++);
    await a.tenants();
    b.bump();
    await settle();
    w.clock.t += 300;
    await a.tenants();
    expect(changes).toBe(1);
  });

  it('re-reads after MAX_AGE even with no announced change', async () => {
    const w = world();
    const a = w.node();
    await a.tenants();
    w.setTenants(['t2']);
    w.clock.t += 61_000;
    expect(await a.has('t2')).toBe(true);
  });
});
