import { randomBytes } from 'node:crypto';
import { loadConfig } from '@chat/config';
import { RedisService } from '@chat/redis';
import { PresenceChange, PresenceTracker } from '@chat/realtime';
import { asTenantId } from '@chat/tenancy';
import { waitFor } from './support/wait-for';

/** Presence against the real Redis of the test run: two trackers are two gateway nodes. */
describe('realtime presence across nodes (real Redis)', () => {
  let redis: RedisService;
  const trackers: PresenceTracker[] = [];
  const tenant = asTenantId(`pt${randomBytes(4).toString('hex')}`);

  beforeAll(async () => {
    redis = await RedisService.create(loadConfig());
    expect(redis.mode).toBe('redis');
  });
  afterEach(async () => {
    await Promise.allSettled(trackers.splice(0).map((t) => t.stop({ clean: true })));
  });
  afterAll(async () => redis.onApplicationShutdown());

  const node = async (ttl = 60_000) => {
    const t = new PresenceTracker(redis, { nodeTtlMs: ttl });
    const changes: PresenceChange[] = [];
    t.onChange((c) => changes.push(c));
    await t.start();
    trackers.push(t);
    return { t, changes };
  };

  it('a user is online while any socket on any node is connected', async () => {
    const a = await node();
    const b = await node();
    await a.t.connect(tenant, 'alice');
    await a.t.connect(tenant, 'alice');
    await b.t.connect(tenant, 'alice');
    expect(a.changes).toEqual([{ tenantId: tenant, userId: 'alice', status: 'online' }]);
    expect(b.changes).toEqual([]);
    expect(await b.t.statuses(tenant, ['alice', 'nobody'])).toEqual([
      { user_id: 'alice', status: 'online', last_seen: null },
      { user_id: 'nobody', status: 'offline', last_seen: null },
    ]);
    await a.t.disconnect(tenant, 'alice');
    await a.t.disconnect(tenant, 'alice');
    expect(a.changes).toHaveLength(1);
    await b.t.disconnect(tenant, 'alice');
    expect(b.changes).toEqual([{ tenantId: tenant, userId: 'alice', status: 'offline', last_seen: expect.any(String) }]);
    const [s] = await a.t.statuses(tenant, ['alice']);
    expect(s).toEqual({ user_id: 'alice', status: 'offline', last_seen: b.changes[0].last_seen });
  });

  it('keeps tenants apart', async () => {
    const a = await node();
    const other = asTenantId(`${tenant}x`);
    await a.t.connect(tenant, 'bob');
    expect((await a.t.statuses(other, ['bob']))[0].status).toBe('offline');
    await a.t.disconnect(tenant, 'bob');
  });

  it("expires a crashed node's connections and reports the user offline", async () => {
    const crashed = await node(1000);
    const survivor = await node(1000);
    await crashed.t.connect(tenant, 'carol');
    await survivor.t.connect(tenant, 'dave');
    await crashed.t.connect(tenant, 'dave');
    await crashed.t.stop({ clean: false }); // goes silent, like a crash
    // The survivor's own heartbeat timer sweeps once the TTL has passed.
    await waitFor(() => survivor.changes.some((c) => c.userId === 'carol'), 10_000);
    // carol had sockets only on the dead node; dave still has one on the survivor.
    expect(survivor.changes.filter((c) => c.userId === 'carol')).toEqual([{ tenantId: tenant, userId: 'carol', status: 'offline', last_seen: expect.any(String) }]);
    expect(survivor.changes.filter((c) => c.userId === 'dave' && c.status === 'offline')).toEqual([]);
    expect((await survivor.t.statuses(tenant, ['carol', 'dave'])).map((s) => s.status)).toEqual(['offline', 'online']);
    await survivor.t.disconnect(tenant, 'dave');
  });

  it('a node that was wrongly swept (stalled) writes its users back on its next heartbeat', async () => {
    const stalled = await node(1000);
    const other = await node(1000);
    await stalled.t.connect(tenant, 'erin');
    await stalled.t.stop({ clean: false });
    // Once its heartbeat key has expired in Redis, a sweep (ours or the node's own timer) takes erin offline.
    const erin = async () => (await other.t.statuses(tenant, ['erin']))[0].status;
    await waitFor(async () => (await other.t.sweep(), (await erin()) === 'offline'), 10_000, 'the stalled node to be swept');
    await stalled.t.heartbeat();
    // The heartbeat writes its users back without waiting for it: the change is reported once written.
    await waitFor(() => stalled.changes.length === 2, 10_000, 'erin written back');
    expect(await erin()).toBe('online');
    expect(stalled.changes.map((c) => c.status)).toEqual(['online', 'online']);
    await stalled.t.disconnect(tenant, 'erin');
  });

  it('works in process when Redis is not used', async () => {
    const memory = await RedisService.create(loadConfig({ ...process.env, REDIS_URL: 'none' }));
    const t = new PresenceTracker(memory, { nodeTtlMs: 1000 });
    const changes: PresenceChange[] = [];
    t.onChange((c) => changes.push(c));
    await t.start();
    await t.connect(tenant, 'u');
    await t.connect(tenant, 'u');
    await t.disconnect(tenant, 'u');
    expect((await t.statuses(tenant, ['u']))[0].status).toBe('online');
    await t.disconnect(tenant, 'u');
    expect(changes.map((c) => c.status)).toEqual(['online', 'offline']);
    expect((await t.statuses(tenant, ['u']))[0]).toEqual({ user_id: 'u', status: 'offline', last_seen: changes[1].last_seen });
    await t.stop();
  });
});
