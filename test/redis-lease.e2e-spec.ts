/* The Redis lease behind the FerretDB document lock, on the real Redis, with two connections standing
 * for two processes: exclusive while held, freed by the expiry when a holder died, bounded waiting. */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { LeaseTimeoutError, RedisLeases } from '@chat/redis';

describe('RedisLeases (real Redis)', () => {
  const clients: Redis[] = [];
  const connect = () => {
    const c = new Redis(process.env.REDIS_URL!);
    clients.push(c);
    return c;
  };
  const key = () => `${process.env.REDIS_KEY_PREFIX}lease-test:${randomBytes(4).toString('hex')}`;
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
  });

  it('lets one holder at a time in across connections: a read-modify-write loses nothing', async () => {
    const k = key();
    const counter = `${k}:counter`;
    const nodes = [new RedisLeases(connect()), new RedisLeases(connect())];
    const direct = connect();
    await direct.set(counter, '0');
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        nodes[i % 2].run(k, async () => {
          maxInside = Math.max(maxInside, ++inside);
          const v = Number(await direct.get(counter));
          await direct.set(counter, String(v + 1));
          inside--;
        }),
      ),
    );
    expect(maxInside).toBe(1);
    expect(await direct.get(counter)).toBe('30');
    expect(await direct.exists(k)).toBe(0);
  });

  it('a lease whose holder died is taken once it expires; a waiter gives up after maxWaitMs', async () => {
    const k = key();
    const redis = connect();
    // A holder that died: its lease is never released, only expires.
    await redis.set(k, 'dead-holder', 'PX', 400);
    // Run only once the dead holder's lease is gone: the key is then this run's (no elapsed-time check, which a loaded machine's stall before `run` would break).
    expect(await new RedisLeases(connect()).run(k, async () => ((await redis.get(k)) !== 'dead-holder' && (await redis.exists(k)) === 1 ? 'in' : 'too early'))).toBe('in');

    await redis.set(k, 'stuck-holder', 'PX', 60_000);
    await expect(new RedisLeases(connect(), { maxWaitMs: 200 }).run(k, async () => 'never')).rejects.toBeInstanceOf(LeaseTimeoutError);
    // Not ours: the failed waiter must not have deleted it.
    expect(await redis.get(k)).toBe('stuck-holder');
    await redis.del(k);
  });

  it('keeps the lease while a holder runs longer than its ttl', async () => {
    const k = key();
    const redis = connect();
    const leases = new RedisLeases(connect(), { ttlMs: 400 });
    await leases.run(k, async () => {
      // Wait (bounded) until more than two ttls have passed while holding: the extensions must keep it.
      const t0 = Date.now();
      while (Date.now() - t0 < 1000) await redis.ping();
      expect(await redis.pttl(k)).toBeGreaterThan(0);
    });
    expect(await redis.exists(k)).toBe(0);
  });
});
